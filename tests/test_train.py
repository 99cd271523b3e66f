"""train: one run per project, no half-written corpus, a schedule that follows max_steps, honest step counts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from conftest import ROOT
from scripts.convert import convert
from scripts.evaluate import main as evaluate_main
from scripts.train import main as train_main

SAMPLE = ROOT / "assets/sample"


def cli(main):
    app = typer.Typer()
    app.command()(main)
    return lambda *args: CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "corpus"
    convert(SAMPLE, SAMPLE, SAMPLE, out)
    return out


def test_schedule_of_fixed_total_steps_follows_max_steps():
    from scripts.train import schedule_overrides

    config = ROOT / "configs/experiments/ud_schedule.cfg"
    assert schedule_overrides(config, {}, 600) == {"training.optimizer.learn_rate.total_steps": 600}
    assert schedule_overrides(config, {}, 4000) == {}
    with pytest.raises(typer.BadParameter, match="max_steps is 0 .*set max_steps"):
        schedule_overrides(config, {}, 0)
    assert schedule_overrides(ROOT / "configs/base_config.cfg", {}, 600) == {}


def test_train_refuses_a_schedule_without_max_steps(corpus):
    result = cli(train_main)(
        ROOT / "configs/experiments/ud_schedule.cfg", "--train", corpus / "train.spacy", "--dev", corpus / "dev.spacy"
    )
    assert result.exit_code == 1 and "✘" in result.output and "set max_steps" in result.output


def test_stats_json_records_the_md5_of_every_split(corpus):
    from pt_pipelines.files import checksum

    stats = json.loads((corpus / "stats.json").read_text())
    assert stats["outputs_md5"] == {f"{s}.spacy": checksum(corpus / f"{s}.spacy") for s in ("train", "dev", "test")}


def test_train_refuses_a_half_written_corpus(corpus, tmp_path):
    mixed = tmp_path / "corpus"
    shutil.copytree(corpus, mixed)
    other = tmp_path / "other"
    convert(
        SAMPLE / "pt_sample-ud-dev.conllu",
        SAMPLE / "pt_sample-ud-dev.conllu",
        SAMPLE / "pt_sample-ud-test.conllu",
        other,
    )
    shutil.copy(other / "train.spacy", mixed / "train.spacy")  # a new train beside the old dev and stats.json
    run = cli(train_main)
    result = run(ROOT / "configs/base_config.cfg", "--train", mixed / "train.spacy", "--dev", mixed / "dev.spacy")
    assert result.exit_code == 1 and "half-written" in result.output and "run convert again" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "training").exists()

    shutil.copy(corpus / "train.spacy", mixed / "train.spacy")
    (mixed / ".convert-incomplete").write_text("")
    result = run(ROOT / "configs/base_config.cfg", "--train", mixed / "train.spacy", "--dev", mixed / "dev.spacy")
    assert result.exit_code == 1 and "half-written" in result.output


def test_a_second_train_in_the_same_folder_is_refused(corpus, tmp_path):
    out = tmp_path / "training"
    out.mkdir()
    (out / ".train-scratch.lock").write_text(f"{os.getppid()}\n")
    result = cli(train_main)(
        ROOT / "configs/base_config.cfg",
        "--output",
        out,
        "--train",
        corpus / "train.spacy",
        "--dev",
        corpus / "dev.spacy",
    )
    assert result.exit_code == 1 and "another run holds" in result.output and f"pid {os.getppid()}" in result.output
    assert sorted(p.name for p in out.iterdir()) == [".train-scratch.lock"]


def test_evaluate_refuses_to_overwrite_the_record_of_another_train_input(tmp_path):
    record = tmp_path / "custom-full.json"
    record.write_text(json.dumps({"corpus": "custom", "train_input": "data/first", "scores": {}}))
    model = tmp_path / "model"
    model.mkdir()
    data = tmp_path / "test.spacy"
    data.write_bytes(b"")
    result = cli(evaluate_main)(
        model, data, "--output", tmp_path / "s.json", "--record", record, "--corpus", "custom",
        "--pipeline", "full", "--train-input", "data/second",
    )  # fmt: skip
    assert result.exit_code == 1 and "--vars.run_name" in result.output and "data/first" in result.output
    assert json.loads(record.read_text())["train_input"] == "data/first"


@pytest.mark.slow
def test_summary_and_record_count_the_steps_trained_and_the_schedule(corpus, tmp_path):
    config = tmp_path / "config.cfg"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "init",
            "fill-config",
            str(ROOT / "configs/experiments/ud_schedule.cfg"),
            str(config),
        ],
        check=True,
        capture_output=True,
    )
    text = config.read_text().replace("eval_frequency = 200", "eval_frequency = 10")
    config.write_text(text)
    out = tmp_path / "training"
    result = cli(train_main)(
        config, "--output", out, "--train", corpus / "train.spacy", "--dev", corpus / "dev.spacy", "--max-steps", 25
    )
    assert result.exit_code == 0, result.output
    assert "total_steps 4000" in result.output and "max_steps 25" in result.output
    summary = json.loads((out / "train-summary.json").read_text())
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert summary["steps"] == 25 and summary["last_eval_step"] == log[-1]["step"] == 20
    best = max(row["score"] for row in log)
    assert summary["best_step"] == [row["step"] for row in log if row["score"] == best][-1]
    assert summary["learn_rate_total_steps"] == 25 and summary["max_steps"] == 25
    nlp_config = (out / "model-last/config.cfg").read_text()
    assert "total_steps = 25" in nlp_config
