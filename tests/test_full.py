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
def test_assembled_pipeline_takes_each_component_from_its_source(sample_run, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(sample_run.path, project, ignore=shutil.ignore_patterns(".git"))
    assert run_all(project, workflow="save-model") == ["save-model"]
    saved = project / "models/sample-auto"
    assert sorted(p.name for p in saved.iterdir()) == ["model-best", "test.spacy", "train-summary.json"]
    # a second, different source for the UD side: the UD-only baseline, briefly trained
    assert run_all(project, {"vars.max_steps": 30, "vars.seed": 7}, workflow="train-baseline") == ["train-baseline"]
    subprocess.run(
        [sys.executable, "-m", "scripts.save_model", "training/baseline/model-best", "corpus/test.spacy",
         "training/baseline/train-summary.json", "models/sample-ud"],
        cwd=project, check=True, capture_output=True,
    )  # fmt: skip
    overrides = {"vars.full_ud": "sample-ud", "vars.full_ner": "sample-auto"}
    assert run_all(project, overrides, workflow="full") == ["assemble", "evaluate-full"]
    full = spacy.load(project / "models/full")
    ud, ner = spacy.load(project / "models/sample-ud/model-best"), spacy.load(saved / "model-best")
    assert full.pipe_names == ["tok2vec", "morphologizer", "trainable_lemmatizer", "parser", "ner"]
    for name in ("tok2vec", "morphologizer", "trainable_lemmatizer", "parser"):
        assert full.get_pipe(name).model.to_bytes() == ud.get_pipe(name).model.to_bytes(), name
        assert full.get_pipe(name).model.to_bytes() != ner.get_pipe(name).model.to_bytes(), name
    # the NER keeps its weights and gets its own copy of the tok2vec it was trained with
    weights = full.get_pipe("ner").model.get_ref("lower").get_param("W")
    assert (weights == ner.get_pipe("ner").model.get_ref("lower").get_param("W")).all()
    assert full.get_pipe("tok2vec").listening_components == ["morphologizer", "trainable_lemmatizer", "parser"]
    record = json.loads((project / "metrics/sample-ud+sample-auto-full.json").read_text())
    assert record["pipeline"] == "full" and record["corpus"] == "sample-ud+sample-auto"
    test = [ex for ex in spacy_examples(full, saved / "test.spacy")]
    ud_scores = ud.evaluate(test)
    for key in ("pos_acc", "morph_acc", "lemma_acc", "dep_uas", "dep_las"):
        assert record["scores"][key] == pytest.approx(ud_scores[key]), key
    assert 0 <= record["scores"]["ents_f"] <= 1
    assert run_all(project, overrides, workflow="full") == []


def spacy_examples(nlp, path):
    from spacy.tokens import DocBin
    from spacy.training import Example

    for doc in DocBin().from_disk(path).get_docs(nlp.vocab):
        yield Example(nlp.make_doc(doc.text), doc)


@pytest.mark.slow
def test_speed_workflow_trains_the_baseline_and_compares_on_the_test_text(sample_run, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(sample_run.path, project, ignore=shutil.ignore_patterns(".git"))
    fast = {"vars.max_steps": 20, "vars.benchmark_budget": 5}
    assert run_all(project, fast, workflow="speed") == ["train-baseline", "benchmark"]
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
    assert run_all(project, fast, workflow="speed") == []


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
