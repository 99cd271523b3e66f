"""fill-config: the complete config. auto chooses the full, UD or NER base; experiments are overlays; every
setting the vars decide is written in, and clashes stop here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
import spacy
import srsly

from conftest import GENERATED, ROOT, docbin, run_all
from pt_pipelines.configs import ConfigError, Settings, check_lstm_dropout, choose_base_config, eval_frequency, fill
from scripts.fill_config import fill_config


@pytest.mark.parametrize(
    "pos,ents,kind",
    [(True, True, "full"), (True, False, "ud"), (False, True, "ner")],
)
def test_auto_follows_the_annotation_layers(tmp_path, pos, ents, kind):
    chosen, config = choose_base_config(docbin(tmp_path, pos, ents))
    assert chosen == kind and (ROOT / config).exists()


def test_auto_refuses_data_with_nothing_to_train(tmp_path):
    with pytest.raises(ConfigError, match="no POS, dependencies or entities"):
        choose_base_config(docbin(tmp_path, pos=False, ents=False))


def test_the_filled_config_names_its_base_and_has_a_pretraining_block(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the choices are paths relative to the project, as project.yml runs it
    out = tmp_path / "config.cfg"
    settings = Settings(train=str(docbin(tmp_path, False, True)))
    used = fill_config(base_config=ROOT / "configs/auto.cfg", output=out, settings=settings)
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
    (record_path,) = (project / "metrics" / "runs").glob("mine-ner-*.json")  # auto is named by what trained
    record = srsly.read_json(record_path)
    assert record["pipeline"] == "ner" and record["config"].startswith("configs/ner_base_config.cfg")


def flatten(section: dict, prefix: str = "") -> dict[str, object]:
    items: dict[str, object] = {}
    for key, value in section.items():
        if isinstance(value, dict):
            items.update(flatten(value, f"{prefix}{key}."))
        else:
            items[f"{prefix}{key}"] = value
    return items


EXPERIMENTS = sorted(p.stem for p in (ROOT / "configs/experiments").glob("*.cfg"))
REPLACED = sorted(p.stem for p in (ROOT / "tests/data/experiment_copies").glob("*.cfg"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_each_experiment_is_a_short_overlay_that_fills_on_its_base(tmp_path, monkeypatch, name):
    """A header that says why, then only the settings it changes; filled on its base, it resolves."""
    if name.startswith("ner_bilstm"):
        pytest.importorskip("torch", reason="spacy.TorchBiLSTMEncoder.v1 needs PyTorch (requirements-trf.txt)")
    monkeypatch.chdir(ROOT)
    text = (ROOT / "configs/experiments" / f"{name}.cfg").read_text(encoding="utf8")
    assert len(text.splitlines()) <= 40 and text.startswith("# Experiment: ")
    config = fill(ROOT / "configs/auto.cfg", Settings(train=str(docbin(tmp_path, name.startswith("ud"), True)), max_steps=100), [name])
    assert config["paths"]["experiment"] == name
    spacy.util.load_model_from_config(spacy.util.load_config_from_str(config.to_str()), auto_fill=False)


@pytest.mark.parametrize("name", REPLACED)
def test_each_overlay_fills_as_the_whole_copy_it_replaced(tmp_path, monkeypatch, name):
    """configs/experiments/<name>.cfg holds only what it changes; on its base it fills to the same config as the
    whole copy it replaced (tests/data/experiment_copies), so every results row stays reproducible."""
    monkeypatch.chdir(ROOT)
    settings = Settings(train=str(docbin(tmp_path, pos=True, ents=True)), max_steps=4000)
    base = ROOT / ("configs/ud_base_config.cfg" if name.startswith("ud") else "configs/ner_base_config.cfg")
    new, old = fill(base, settings, [name]), fill(ROOT / "tests/data/experiment_copies" / f"{name}.cfg", settings)
    assert new["paths"].pop("experiment") == name and old["paths"].pop("experiment") is None
    new["paths"].pop("base_config"), old["paths"].pop("base_config")
    assert new == old  # the same settings (the order of keys in a block may differ)
    new.interpolate()  # every ${...} reference resolves


def test_an_overlay_that_swaps_an_architecture_replaces_the_block_and_checks_its_components(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    ner_data = Settings(train=str(docbin(tmp_path, pos=False, ents=True)))
    config = fill(ROOT / "configs/ud_base_config.cfg", ner_data, ["ud_char"])
    embed = config["components"]["tok2vec"]["model"]["embed"]
    assert embed["@architectures"] == "spacy.CharacterEmbed.v2" and "attrs" not in embed  # MultiHashEmbed's
    with pytest.raises(ConfigError, match="changes parser, which .*ner_base_config.cfg does not train"):
        fill(ROOT / "configs/ner_base_config.cfg", ner_data, ["ud_wide"])
    with pytest.raises(ConfigError, match="no experiment 'nope'.*ud_wide"):
        fill(ROOT / "configs/auto.cfg", ner_data, ["nope"])
    with pytest.raises(ConfigError, match="is an experiment, not a base config"):
        fill(ROOT / "configs/experiments/ud_wide.cfg", ner_data)


@pytest.mark.parametrize(
    "max_steps,configured,expected",
    [(600, 200, 120), (1500, 200, 150), (6000, 200, 200), (200, 200, 40), (601, 200, 120), (0, 200, 200)],
)
def test_eval_frequency_evaluates_the_last_step_and_five_times_at_least(max_steps, configured, expected):
    assert eval_frequency(max_steps, configured) == expected
    if max_steps and max_steps % expected == 0:
        assert max_steps // expected >= 5


def test_the_vars_are_written_into_the_config(tmp_path, monkeypatch):
    """What trains is what the config says: seed, steps, schedule length, vectors and where they lie."""
    monkeypatch.chdir(ROOT)
    vec = tmp_path / "my.vec"
    vec.write_text("2 3\ncasa 0.1 0.2 0.3\nrua 0.3 0.2 0.1\n", encoding="utf8")
    train = str(docbin(tmp_path, pos=True, ents=False))
    settings = Settings(train=train, dev="d.spacy", seed=3, max_steps=1500, vectors=str(vec))
    config = fill(ROOT / "configs/auto.cfg", settings, ["ud_schedule"])
    assert config["paths"]["train"] == train and config["paths"]["dev"] == "d.spacy"
    assert config["system"]["seed"] == 3 and config["training"]["max_steps"] == 1500
    assert config["training"]["eval_frequency"] == 150
    assert config["training"]["optimizer"]["learn_rate"]["total_steps"] == 1500
    assert config["paths"]["vectors"] == "training/vectors/nlp" and config["paths"]["vectors_source"] == str(vec)
    assert config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] is True
    floret = fill(ROOT / "configs/auto.cfg", Settings(train=train, init="vectors"))
    assert floret["paths"]["vectors"] == "training/init/vectors"
    pretrain = fill(ROOT / "configs/auto.cfg", Settings(train=train, init="pretrain", pretrain_epochs=2))
    assert pretrain["paths"]["init_tok2vec"] == "training/init/pretrain/model-last.bin"
    assert pretrain["pretraining"]["max_epochs"] == 2 and pretrain["paths"]["vectors"] is None
    # spacy pretrain loads the outside vectors (its nlp.initialize reads [initialize] vectors), so both combine
    both = fill(ROOT / "configs/auto.cfg", Settings(train=train, init="pretrain", vectors=str(vec)))
    assert both["paths"]["init_tok2vec"] == "training/init/pretrain/model-last.bin"
    assert both["paths"]["vectors"] == "training/vectors/nlp"


@pytest.mark.parametrize(
    "settings,base,message",
    [
        ({"init": "vectors", "vectors": "VEC"}, "configs/auto.cfg", "two sources of static vectors"),
        ({"vectors": "pt_no_such_package"}, "configs/auto.cfg", "no such file, folder or installed spaCy package"),
        ({"max_steps": 0}, "configs/auto.cfg", "max_steps is 0"),
    ],
)
def test_clashes_stop_in_fill_config_before_any_long_step(tmp_path, monkeypatch, settings, base, message):
    monkeypatch.chdir(ROOT)
    vec = tmp_path / "v.vec"
    vec.write_text("1 2\ncasa 0.1 0.2\n", encoding="utf8")
    values = {"train": str(docbin(tmp_path, pos=True, ents=False)), "max_steps": 100, **settings}
    values = {k: str(vec) if v == "VEC" else v for k, v in values.items()}
    experiments = ["ud_schedule"] if settings.get("max_steps") == 0 else []
    with pytest.raises(ConfigError, match=message):
        fill(ROOT / base, Settings(**values), experiments)


def test_an_lstm_dropout_that_one_layer_would_ignore_stops_in_fill_config(tmp_path, monkeypatch):
    """Before spaCy builds anything (no PyTorch needed): a config that says dropout must train with it."""
    monkeypatch.chdir(ROOT)
    base = (ROOT / "configs/ner_base_config.cfg").read_text(encoding="utf8")
    lstm = '[components.tok2vec.model.encode]\n@architectures = "spacy.TorchBiLSTMEncoder.v1"\nwidth = 64\ndepth = {}\ndropout = {}\n'
    encode = re.search(r"\[components\.tok2vec\.model\.encode\]\n(?:[^\[\n].*\n|\n)*", base).group(0)
    config = tmp_path / "lstm.cfg"
    config.write_text(base.replace(encode, lstm.format(1, 0.2) + "\n"), encoding="utf8")
    settings = Settings(train=str(docbin(tmp_path, pos=False, ents=True)), max_steps=100)
    with pytest.raises(ConfigError, match=r"lstm.cfg: TorchBiLSTMEncoder has depth 1 and dropout 0.2.*set dropout = 0.0"):
        fill(config, settings)
    for depth, dropout in [(1, 0.0), (2, 0.3)]:  # what PyTorch does apply passes
        check_lstm_dropout(spacy.util.load_config_from_str(base.replace(encode, lstm.format(depth, dropout) + "\n")), "ok")


@pytest.mark.slow
def test_spacy_train_on_the_filled_config_alone_reproduces_model_best(sample_run, tmp_path):
    """The config is the truth: after `all`, `python -m spacy train configs/config.cfg --output X` with no other
    argument gives the workflow's model-best with the same dev scores (a 60-step run, to keep the suite short)."""
    project = tmp_path / "project"
    shutil.copytree(sample_run.path, project)
    assert "train" in run_all(project, {"vars.max_steps": 60, "vars.seed": 3})
    out = tmp_path / "again"
    command = [sys.executable, "-m", "spacy", "train", "configs/config.cfg", "--output", str(out)]
    subprocess.run(command, cwd=project, check=True, capture_output=True)
    ours = json.loads((project / "training/model-best/meta.json").read_text(encoding="utf8"))["performance"]
    again = json.loads((out / "model-best/meta.json").read_text(encoding="utf8"))["performance"]
    assert again == ours and ours["pos_acc"] > 0
