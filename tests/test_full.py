"""The full pipeline: save-model, then assemble a UD and an NER pipeline and evaluate on both test sets."""

from __future__ import annotations

import json
import shutil

import pytest
import spacy

from conftest import run_all


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
