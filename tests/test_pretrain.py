"""all-pretrained: raw-text → pretrain → train-pretrained on the sample, then a no-op rerun; pretrain's errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import srsly
import typer
from spacy import util

from conftest import run_all
from pretrain import pretrain

PRETRAIN_STEPS = ["raw-text", "pretrain", "train-pretrained", "evaluate", "report"]


@pytest.fixture(scope="module")
def project(sample_run, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pretrain") / "project"
    shutil.copytree(sample_run.path, path)
    return path


def first_evaluation(project: Path) -> dict:
    return json.loads((project / "training" / "log.jsonl").read_text().splitlines()[0])


def test_all_pretrained_trains_from_the_pretrained_weights_and_reruns_nothing(sample_run, project):
    overrides = {"vars.pretrain_epochs": "2", "vars.max_steps": "60"}
    assert run_all(project, overrides, workflow="all-pretrained") == PRETRAIN_STEPS
    texts = [row["text"] for row in srsly.read_jsonl(project / "corpus" / "raw_text.jsonl")]
    assert len(texts) == len(set(texts)) > 100
    summary = json.loads((project / "training" / "pretrain" / "pretrain-summary.json").read_text())
    assert summary["epochs"] == 2 and len(summary["epoch_losses"]) == 2 and summary["words_per_epoch"] > 1000
    assert (project / "training" / "pretrain" / "model-last.bin").stat().st_size > 100_000
    train_summary = json.loads((project / "training" / "train-summary.json").read_text())
    assert train_summary["init_tok2vec"] == "training/pretrain/model-last.bin"
    # Same config, data and seed as the plain run: only the starting weights differ, so the first dev scores do
    # (the first losses do not: the output layers start at zero). spaCy silently ignores init_tok2vec in a
    # config without a [pretraining] block, which is why fill-config adds one.
    assert first_evaluation(project)["scores"] != first_evaluation(sample_run.path)["scores"]
    assert (project / "metrics" / "sample-full.json").is_file()
    lock = srsly.read_yaml(project / "project.lock")
    assert "training/pretrain/model-last.bin" in {dep["path"] for dep in lock["train-pretrained"]["deps"]}
    assert run_all(project, overrides, workflow="all-pretrained") == []
    # the plain workflow must not keep the pretrained model as its own
    assert "train" in run_all(project, overrides)


def test_pretrain_without_a_pretraining_block_says_how_to_fill_it(sample_run, tmp_path):
    config = util.load_config(sample_run.path / "configs" / "config.cfg", interpolate=False)
    del config["pretraining"]
    config.to_disk(tmp_path / "config.cfg")
    (tmp_path / "raw.jsonl").write_text('{"text": "Ana mora no Porto."}\n')
    with pytest.raises(typer.BadParameter, match="fill-config .*--pretraining"):
        pretrain(tmp_path / "config.cfg", tmp_path / "out", tmp_path / "raw.jsonl", epochs=1)
    assert not (tmp_path / "out").exists()
