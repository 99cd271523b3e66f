"""package: the wheel declares what it needs, so that pip install in a fresh environment pulls spaCy."""

from __future__ import annotations

import zipfile

import pytest
import spacy

from conftest import ROOT
from scripts.package import package


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
