"""package: the wheel declares what it needs and says what the packaged pipeline is."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest
import spacy

from conftest import ROOT
from pt_pipelines.errors import StepError
from scripts.package import describe, package, read_test_scores


@pytest.mark.slow  # builds a wheel: ten seconds
def test_the_wheel_requires_spacy(tmp_path):
    nlp = spacy.blank("pt")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(tmp_path / "model")
    built = package(tmp_path / "model", tmp_path / "packages", "tiny", "0.0.1", ROOT / "configs/meta-template.json")
    wheel = next(p for p in built if p.suffix == ".whl")
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    spacy_req = [line for line in requires if line.split(":", 1)[1].strip().startswith("spacy")]
    # the minor version range the pipeline was built with, e.g. spacy<3.9.0,>=3.8.18
    assert spacy_req and f">={spacy.__version__}" in spacy_req[0].replace(" ", ""), requires


@pytest.fixture
def ner_only(tmp_path):
    """A tiny NER-only pipeline with its labels, initialized but untrained, and test scores for it."""
    nlp = spacy.blank("pt")
    ner = nlp.add_pipe("ner")
    for label in ("PER", "LOC", "ORG"):
        ner.add_label(label)
    nlp.initialize()
    nlp.meta["performance"] = {"ents_f": 0.5, "ents_p": 0.6, "ents_r": 0.4}
    nlp.to_disk(tmp_path / "model")
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"token_acc": 1.0, "ents_f": 0.7123, "ents_p": 0.75, "ents_r": 0.68, "speed": 9000.0}))
    return tmp_path / "model", scores


def test_the_description_says_what_an_ner_only_pipeline_is(ner_only):
    model, scores = ner_only
    meta = json.loads((model / "meta.json").read_text())
    text = describe(meta, read_test_scores(meta, scores))
    assert text == "Portuguese pipeline: ner (named entities: LOC, ORG, PER); test split (%): Tokens 100.0, NER P 75.0, NER R 68.0, NER F 71.2"
    assert "morphology" not in text and "dependencies" not in text
    assert describe(meta, None).endswith("dev split (%): NER P 60.0, NER R 40.0, NER F 50.0"), "no test scores: dev, said so"
    (scores.parent / "ud.json").write_text(json.dumps({"dep_las": 0.8, "ents_f": 0.7}))
    with pytest.raises(StepError, match="scores dep_las, which the pipeline does not have"):
        read_test_scores(meta, scores.parent / "ud.json")


@pytest.mark.slow  # builds a wheel: ten seconds
def test_the_wheel_summary_of_an_ner_only_pipeline_is_its_description(ner_only, tmp_path):
    model, scores = ner_only
    template = tmp_path / "meta-template.json"
    shutil.copy(ROOT / "configs/meta-template.json", template)
    built = package(model, tmp_path / "packages", "ner_tiny", "0.0.1", template, scores=scores)
    wheel = next(p for p in built if p.suffix == ".whl")
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    (summary,) = [line for line in metadata.splitlines() if line.startswith("Summary:")]
    assert summary == "Summary: Portuguese pipeline: ner (named entities: LOC, ORG, PER); test split (%): Tokens 100.0, NER P 75.0, NER R 68.0, NER F 71.2"
