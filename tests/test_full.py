"""The full pipeline: save-model, then assemble a UD and an NER pipeline and evaluate on both test sets."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import spacy

from conftest import ROOT, run_all


@pytest.mark.slow
def test_assembled_pipeline_scores_what_its_sources_score(sample_run, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(sample_run.path, project, ignore=shutil.ignore_patterns(".git"))
    assert run_all(project, workflow="save-model") == ["save-model"]
    saved = project / "models/sample-full"
    assert sorted(p.name for p in saved.iterdir()) == ["model-best", "test.spacy", "train-summary.json"]
    # the sample pipeline has every component, so it can stand in for both the UD and the NER source
    overrides = {"vars.full_ud": "sample-full", "vars.full_ner": "sample-full"}
    assert run_all(project, overrides, workflow="full") == ["assemble", "evaluate-full"]
    nlp = spacy.load(project / "models/full")
    assert nlp.pipe_names == ["tok2vec", "morphologizer", "trainable_lemmatizer", "parser", "ner"]
    # NER has its own copy of the tok2vec it was trained with, not a listener on the UD one
    assert nlp.get_pipe("tok2vec").listening_components == ["morphologizer", "trainable_lemmatizer", "parser"]
    full = json.loads((project / "metrics/sample-full+sample-full-full.json").read_text())
    alone = json.loads((project / "metrics/sample-full.json").read_text())
    assert full["pipeline"] == "full" and full["corpus"] == "sample-full+sample-full"
    for key in ("pos_acc", "morph_acc", "lemma_acc", "dep_uas", "dep_las", "ents_f"):
        assert full["scores"][key] == pytest.approx(alone["scores"][key]), key
    assert full["train_seconds"] == pytest.approx(2 * alone["train_seconds"], abs=0.2)
    assert run_all(project, overrides, workflow="full") == []


@pytest.mark.slow
def test_speed_workflow_trains_the_baseline_and_compares_on_the_test_text(sample_run, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(sample_run.path, project, ignore=shutil.ignore_patterns(".git"))
    assert run_all(project, {"vars.max_steps": 20}, workflow="speed") == ["train-baseline", "benchmark"]
    assert spacy.load(project / "training/baseline/model-best").pipe_names == [
        "tok2vec", "morphologizer", "trainable_lemmatizer", "parser",
    ]  # fmt: skip
    result = json.loads((project / "metrics/benchmark-speed.json").read_text())
    assert set(result["pipelines"]) == {"pipeline", "baseline"} and result["baseline"] == "baseline"
    assert result["pipelines"]["baseline"]["ratio_to_baseline"] == 1.0 and result["repeats"] == 5
    for entry in result["pipelines"].values():
        assert len(entry["words_per_s_runs"]) == 5
        assert entry["words_per_s"] == pytest.approx(sorted(entry["words_per_s_runs"])[2], abs=1)
        assert entry["words_per_s"] > 0 and "words/s" in entry["spacy_benchmark_speed"].lower()
    assert run_all(project, {"vars.max_steps": 20}, workflow="speed") == []


@pytest.mark.slow
def test_joint_training_benchmark_writes_a_record_scored_on_both_test_sets(sample_run, tmp_path):
    corpus = sample_run.path / "corpus"
    record = tmp_path / "joint.json"
    subprocess.run(
        [
            sys.executable, str(ROOT / "benchmarks/joint_training.py"), "--ud-corpus", str(corpus), "--ner-corpus",
            str(corpus), "--output-dir", str(tmp_path / "joint"), "--record", str(record), "--max-steps", "20",
            "--corpus", "sample+sample",
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    data = json.loads(record.read_text())
    assert data["pipeline"] == "full-joint" and data["corpus"] == "sample+sample" and data["train_steps"] is not None
    assert {"pos_acc", "dep_las", "lemma_acc", "ents_f"} <= set(data["scores"])
    # both corpora's documents were merged
    from spacy.tokens import DocBin

    n = len(DocBin().from_disk(corpus / "train.spacy"))
    assert len(DocBin().from_disk(tmp_path / "joint/train.spacy")) == 2 * n
