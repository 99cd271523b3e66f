"""train: one run per project, no half-written corpus, a schedule that follows max_steps, honest step counts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from pt_pipelines.configs import Settings
from scripts.convert import convert
from scripts.fill_config import fill_config

SAMPLE = ROOT / "assets/sample"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "corpus"
    convert(SAMPLE, SAMPLE, SAMPLE, out)
    return out


def filled(tmp_path: Path, train: Path, dev: Path, max_steps: int = 10, experiments: tuple = ()) -> Path:
    """The full base config filled as fill-config does, training on train and dev."""
    settings = Settings(train=str(train), dev=str(dev), max_steps=max_steps)
    config = tmp_path / "config.cfg"
    fill_config(base_config=ROOT / "configs/base_config.cfg", output=config, settings=settings, experiments=list(experiments))
    return config


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
    config = filled(tmp_path, mixed / "train.spacy", mixed / "dev.spacy")
    run = [sys.executable, "-m", "scripts.train", str(config), "--output", str(tmp_path / "training")]
    result = subprocess.run(run, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and "half-written" in result.stderr and "run convert again" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "training" / "model-best").exists()

    shutil.copy(corpus / "train.spacy", mixed / "train.spacy")
    (mixed / ".convert-incomplete").write_text("")
    result = subprocess.run(run, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and "half-written" in result.stderr


def test_a_second_train_in_the_same_folder_is_refused(corpus, tmp_path):
    out = tmp_path / "training"
    out.mkdir()
    (out / ".train-scratch.lock").write_text(f"{os.getppid()}\n")
    config = filled(tmp_path, corpus / "train.spacy", corpus / "dev.spacy")
    result = subprocess.run(
        [sys.executable, "-m", "scripts.train", str(config), "--output", str(out)], capture_output=True, text=True
    )
    assert result.returncode == 1 and "another run holds" in result.stderr and f"pid {os.getppid()}" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == [".train-scratch.lock"]


@pytest.mark.slow
def test_summary_and_record_count_the_steps_trained_and_the_last_is_evaluated(corpus, tmp_path):
    """25 steps with the schedule: fill-config sets total_steps 25 and eval_frequency 5, so step 25, the last,
    is evaluated; the summary counts the steps from the log."""
    config = filled(tmp_path, corpus / "train.spacy", corpus / "dev.spacy", max_steps=25, experiments=("ud_schedule",))
    out = tmp_path / "training"
    result = subprocess.run([sys.executable, "-m", "scripts.train", str(config), "--output", str(out)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "train-summary.json").read_text())
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [0, 5, 10, 15, 20, 25]
    assert summary["steps"] == summary["last_eval_step"] == 25 and summary["max_steps"] == 25
    best = max(row["score"] for row in log)
    assert summary["best_step"] == [row["step"] for row in log if row["score"] == best][-1]
    assert len(summary["run_id"]) == 12
    assert "total_steps = 25" in (out / "model-last/config.cfg").read_text()


def test_two_runs_that_differ_in_one_dev_sentence_or_the_vectors_have_two_ids(corpus, tmp_path):
    """Runs are told apart by what they trained: the complete config and every file it loads."""
    from scripts.train import run_id

    config = filled(tmp_path, corpus / "train.spacy", corpus / "dev.spacy")
    first = run_id(config, [corpus / "train.spacy", corpus / "dev.spacy"])
    assert run_id(config, [corpus / "train.spacy", corpus / "dev.spacy"]) == first
    other_dev = tmp_path / "dev.spacy"
    other_dev.write_bytes((corpus / "dev.spacy").read_bytes() + b"x")
    assert run_id(config, [corpus / "train.spacy", other_dev]) != first
    vectors = tmp_path / "vectors"
    vectors.mkdir()
    (vectors / "table").write_text("1")
    assert run_id(config, [corpus / "train.spacy", corpus / "dev.spacy", vectors]) != first
