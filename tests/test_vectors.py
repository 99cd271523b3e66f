"""vectors: floret vectors from the training text; all-vectors on the sample; train refuses unused vectors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy
import pytest
import spacy
import srsly
import typer

from conftest import run_all
from train import train
from train_vectors import train_vectors

VECTOR_STEPS = ["fill-config", "raw-text", "vectors", "train-vectors", "evaluate", "report"]


def test_vectors_are_deterministic_and_cover_unseen_words(tmp_path):
    words = ["casa", "casas", "casinha", "porto", "portos", "lisboa", "rio", "mar", "serra", "vila"]
    rng = numpy.random.default_rng(0)
    rows = [{"text": " ".join(rng.choice(words, 12)) + "."} for _ in range(300)]
    srsly.write_jsonl(tmp_path / "raw.jsonl", rows)
    first = train_vectors(tmp_path / "raw.jsonl", tmp_path / "a", dim=20, bucket=2000, epochs=2)
    second = train_vectors(tmp_path / "raw.jsonl", tmp_path / "b", dim=20, bucket=2000, epochs=2)
    a, b = spacy.load(first), spacy.load(second)
    assert a.vocab.vectors.mode == "floret" and a.vocab.vectors.shape == (2000, 20)
    assert numpy.array_equal(a.vocab.vectors.data, b.vocab.vectors.data)
    unseen = a("casarões")[0]
    assert unseen.has_vector and numpy.abs(unseen.vector).sum() > 0
    summary = json.loads((first / "vectors-summary.json").read_text())
    assert summary["tokens"] == 300 * 13 and summary["words"] == len(words) + 2  # "." and fastText's </s>


@pytest.fixture(scope="module")
def project(sample_run, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vectors") / "project"
    shutil.copytree(sample_run.path, path)
    return path


def test_all_vectors_trains_with_the_vectors_and_reruns_nothing(project):
    overrides = {
        "vars.base_config": "configs/ud_vectors_base_config.cfg",
        "vars.pipeline": "ud-vectors",
        "vars.max_steps": "60",
        "vars.vectors_epochs": "2",
    }
    assert run_all(project, overrides, workflow="all-vectors") == VECTOR_STEPS
    nlp = spacy.load(project / "training" / "model-best")
    assert nlp.vocab.vectors.mode == "floret" and nlp.vocab.vectors.shape == (50000, 100)
    assert json.loads((project / "training" / "train-summary.json").read_text())["vectors"] == "training/vectors"
    record = json.loads((project / "metrics" / "sample-ud-vectors.json").read_text())
    assert record["config"].startswith("configs/ud_vectors_base_config.cfg") and record["scores"]["pos_acc"] > 0
    assert run_all(project, overrides, workflow="all-vectors") == []


def test_train_refuses_vectors_that_no_component_would_use(sample_run, tmp_path):
    corpus = sample_run.path / "corpus"
    with pytest.raises(typer.BadParameter, match="include_static_vectors = true"):
        train(
            sample_run.path / "configs" / "config.cfg",
            tmp_path,
            corpus / "train.spacy",
            corpus / "dev.spacy",
            vectors=tmp_path,
        )
    assert not list(tmp_path.iterdir())
