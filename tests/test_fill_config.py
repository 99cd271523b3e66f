"""fill-config: base_config auto chooses the full, UD or NER config from what the training data annotates."""

from __future__ import annotations

import shutil

import pytest
import spacy
import srsly
import typer
from spacy.tokens import Doc, DocBin, Span

from conftest import GENERATED, ROOT, run_all
from scripts.fill_config import choose_base_config, fill_config


def docbin(tmp_path, pos: bool, ents: bool):
    nlp = spacy.blank("pt")
    doc = Doc(nlp.vocab, words=["Ana", "mora", "em", "Lisboa"])
    if pos:
        for token, tag in zip(doc, ["PROPN", "VERB", "ADP", "PROPN"]):
            token.pos_ = tag
    if ents:
        doc.ents = [Span(doc, 3, 4, "LOC")]
    path = tmp_path / "train.spacy"
    DocBin(docs=[doc]).to_disk(path)
    return path


@pytest.mark.parametrize(
    "pos,ents,kind",
    [(True, True, "full"), (True, False, "ud"), (False, True, "ner")],
)
def test_auto_follows_the_annotation_layers(tmp_path, pos, ents, kind):
    chosen, config = choose_base_config(docbin(tmp_path, pos, ents))
    assert chosen == kind and (ROOT / config).exists()


def test_auto_refuses_data_with_nothing_to_train(tmp_path):
    with pytest.raises(typer.BadParameter, match="no POS, dependencies or entities"):
        choose_base_config(docbin(tmp_path, pos=False, ents=False))


def test_the_filled_config_names_its_base_and_has_a_pretraining_block(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the choices are paths relative to the project, as project.yml runs it
    out = tmp_path / "config.cfg"
    used = fill_config(base_config=ROOT / "configs/auto.cfg", output=out, train=docbin(tmp_path, False, True))
    config = spacy.util.load_config(out, interpolate=False)
    assert used.as_posix() == "configs/ner_base_config.cfg" == config["paths"]["base_config"]
    assert config["nlp"]["pipeline"] == ["tok2vec", "ner"] and config["pretraining"]


@pytest.mark.slow
def test_ner_only_data_trains_with_the_default_config(tmp_path):
    """A new user's NER-only IOB data with every default: the NER config is chosen, no E143 crash."""
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*GENERATED))
    sentences = [
        "Maria{k} B-PER\nmora O\nem O\nLisboa B-LOC\n. O",
        "O O\nSupremo B-ORG\nTribunal I-ORG\ndecidiu O\no{k} O\n. O",
        "João B-PER\nvive O\nno O\nPorto{k} B-LOC\n. O",
    ]
    (project / "data").mkdir()
    for split, (start, n) in {"train": (0, 12), "dev": (100, 3), "test": (200, 3)}.items():
        text = "\n\n".join(s.format(k=k) for k in range(start, start + n) for s in sentences)
        (project / "data" / f"{split}.iob").write_text(text + "\n", encoding="utf8")
    ran = run_all(project, {"vars.corpus": "mine", "vars.train_file": "data", "vars.max_steps": 10})
    assert "train" in ran and "evaluate" in ran
    assert spacy.load(project / "training" / "model-best").pipe_names == ["tok2vec", "ner"]
    record = srsly.read_json(project / "metrics" / "mine-auto.json")
    assert record["pipeline"] == "ner" and record["config"].startswith("auto: configs/ner_base_config.cfg")


def flatten(section: dict, prefix: str = "") -> dict[str, object]:
    items: dict[str, object] = {}
    for key, value in section.items():
        if isinstance(value, dict):
            items.update(flatten(value, f"{prefix}{key}."))
        else:
            items[f"{prefix}{key}"] = value
    return items


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs/experiments").glob("*.cfg")))
def test_each_experiment_config_fills_and_keeps_every_setting_it_names(tmp_path, name):
    """An experiment is its base config's settings (ner_patience.cfg: patience 5000): filling must keep them."""
    base = ROOT / "configs/experiments" / name
    out = tmp_path / "config.cfg"
    fill_config(base_config=base, output=out, train=docbin(tmp_path, pos=False, ents=True))
    written = flatten(spacy.util.load_config(base, interpolate=False))
    filled = flatten(spacy.util.load_config(out, interpolate=False))
    changed = {key: (value, filled.get(key)) for key, value in written.items() if filled.get(key) != value}
    assert not changed
    spacy.util.load_config(out, interpolate=True)  # every ${...} reference resolves
