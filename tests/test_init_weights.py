"""init-weights: none, floret vectors or spacy pretrain on the training text, and train starting from them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy
import pytest
import spacy
import srsly
from spacy import util

from conftest import ROOT, run_all
from pt_pipelines.configs import Settings
from pt_pipelines.errors import ConfigError
from pt_pipelines.pretraining import pretrain
from pt_pipelines.vectors import train_vectors
from scripts.fill_config import fill_config
from scripts.init_weights import Method, init_weights

FAST = {"vars.max_steps": "60"}
RETRAIN = ["fill-config", "init-weights", "train", "evaluate", "report"]


def test_vectors_are_deterministic_and_cover_unseen_words(tmp_path):
    words = ["casa", "casas", "casinha", "porto", "portos", "lisboa", "rio", "mar", "serra", "vila"]
    rng = numpy.random.default_rng(0)
    srsly.write_jsonl(tmp_path / "raw.jsonl", [{"text": " ".join(rng.choice(words, 12)) + "."} for _ in range(300)])
    summary = train_vectors(tmp_path / "raw.jsonl", tmp_path / "a", dim=20, bucket=2000, epochs=2)
    train_vectors(tmp_path / "raw.jsonl", tmp_path / "b", dim=20, bucket=2000, epochs=2)
    a, b = spacy.load(tmp_path / "a"), spacy.load(tmp_path / "b")
    assert a.vocab.vectors.mode == "floret" and a.vocab.vectors.shape == (2000, 20)
    assert numpy.array_equal(a.vocab.vectors.data, b.vocab.vectors.data)
    unseen = a("casarões")[0]
    assert unseen.has_vector and numpy.abs(unseen.vector).sum() > 0
    assert summary["tokens"] == 300 * 13 and summary["words"] == len(words) + 2  # "." and fastText's </s>
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "raw.jsonl"]  # the tokenized text is gone


@pytest.fixture
def filled_config(tmp_path) -> Path:
    """The full base config filled as the fill-config step does for init pretrain, without training."""
    settings = Settings(train="unused", init="pretrain", raw_text=str(tmp_path / "short.jsonl"), pretrain_epochs=1)
    fill_config(base_config=ROOT / "configs" / "base_config.cfg", output=tmp_path / "filled.cfg", settings=settings)
    return tmp_path / "filled.cfg"


def test_pretrain_needs_a_pretraining_block_and_some_text(filled_config, tmp_path):
    config = util.load_config(filled_config, interpolate=False)
    srsly.write_jsonl(tmp_path / "short.jsonl", [{"text": "Ana mora."}, {"text": "Rui não."}])
    with pytest.raises(ConfigError, match="shorter than min_length"):
        pretrain(filled_config, tmp_path / "out")
    del config["pretraining"]
    config.to_disk(tmp_path / "config.cfg")
    with pytest.raises(ConfigError, match="no \\[pretraining\\] block: run fill-config"):
        pretrain(tmp_path / "config.cfg", tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


def test_init_weights_leaves_its_folder_alone_when_what_it_follows_from_is_unchanged(filled_config, tmp_path):
    """A config edit elsewhere (max_steps) reruns the step, not a 10-minute floret or pretraining run."""
    srsly.write_jsonl(tmp_path / "raw.jsonl", [{"text": "Ana mora em Lisboa."}] * 50)
    args = {"method": Method.none, "output_dir": tmp_path / "init", "raw_text": tmp_path / "raw.jsonl"}
    assert init_weights(**args, config=filled_config)["changed"]
    config = util.load_config(filled_config, interpolate=False)
    config["training"]["max_steps"] = 7
    config.to_disk(tmp_path / "other.cfg")
    assert not init_weights(**args, config=tmp_path / "other.cfg")["changed"]
    assert init_weights(**{**args, "method": Method.vectors}, config=filled_config, vectors_epochs=1, vectors_bucket=1000, vectors_dim=10)["changed"]


def test_floret_threads_rebuild_the_table_and_are_named_only_when_more_than_one(filled_config, tmp_path):
    """More threads race (another table each run): the manifest says so. One thread, the default, adds no key, so a
    table built before the option existed is not rebuilt."""
    srsly.write_jsonl(tmp_path / "raw.jsonl", [{"text": "Ana mora em Lisboa e o Rui no Porto."}] * 200)
    args = {"method": Method.vectors, "output_dir": tmp_path / "init", "raw_text": tmp_path / "raw.jsonl",
            "config": filled_config, "vectors_epochs": 1, "vectors_bucket": 1000, "vectors_dim": 10}
    one = init_weights(**args)
    assert one["changed"] and "threads" not in one["built_from"] and one["summary"]["threads"] == 1
    two = init_weights(**args, vectors_threads=2)
    assert two["changed"] and two["built_from"]["threads"] == 2 and two["summary"]["threads"] == 2
    assert spacy.load(tmp_path / "init" / "vectors").vocab.vectors.shape == (1000, 10)
    assert not init_weights(**args, vectors_threads=2)["changed"]
    assert init_weights(**args)["changed"]


@pytest.fixture(scope="module")
def project(sample_run, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("init") / "project"
    shutil.copytree(sample_run.path, path)
    return path


def first_evaluation(project: Path) -> dict:
    return json.loads((project / "training" / "log.jsonl").read_text().splitlines()[0])


def summary(project: Path) -> dict:
    return json.loads((project / "training" / "train-summary.json").read_text())


@pytest.mark.slow
def test_switching_init_retrains_from_the_new_start_and_a_rerun_runs_nothing(project):
    assert run_all(project, FAST) == RETRAIN  # init-weights runs, finds nothing changed, leaves training/init
    plain = first_evaluation(project)
    assert summary(project)["init"] == "none"

    pretrained = {**FAST, "vars.init": "pretrain", "vars.pretrain_epochs": "2"}
    assert run_all(project, pretrained) == RETRAIN
    manifest = json.loads((project / "training" / "init" / "init.json").read_text())
    assert manifest["summary"]["epochs"] == 2 and manifest["summary"]["words_per_epoch"] > 1000
    assert sorted(p.name for p in (project / "training" / "init" / "pretrain").iterdir()) == [
        "config.cfg",
        "log.jsonl",
        "model-last.bin",
    ]
    config = util.load_config(project / "configs" / "config.cfg", interpolate=False)
    assert config["paths"]["init_tok2vec"] == "training/init/pretrain/model-last.bin"
    # Same config, data and seed: only the starting weights differ, so the first dev scores do (the first losses
    # do not: the output layers start at zero).
    assert first_evaluation(project)["scores"] != plain["scores"]
    record = json.loads((project / "metrics/runs" / f"sample-full-{summary(project)['run_id']}.json").read_text())
    assert record["init"] == "pretrain" and record["config"].endswith("init pretrain")
    assert record["init_seconds"] == manifest["summary"]["seconds"] > 0
    assert run_all(project, pretrained) == []

    with_vectors = {**FAST, "vars.init": "vectors", "vars.vectors_epochs": "2"}
    assert run_all(project, with_vectors) == RETRAIN
    nlp = spacy.load(project / "training" / "model-best")
    assert nlp.vocab.vectors.mode == "floret" and nlp.vocab.vectors.shape == (50000, 100)
    assert nlp.config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] is True
    assert run_all(project, with_vectors) == []

    assert run_all(project, FAST) == RETRAIN
    assert first_evaluation(project) == plain
    assert spacy.load(project / "training" / "model-best").vocab.vectors.shape[0] == 0


@pytest.mark.slow  # pretrains twice (10 s)
def test_pretraining_loads_the_outside_vectors_and_its_weights_fit_only_a_tok2vec_with_them(tmp_path, monkeypatch):
    """init pretrain with --vars.vectors: the pretrained tok2vec holds the vectors' projection, so train's tok2vec
    (which has them) loads it; the folder is rebuilt when the vectors change, and missing vectors are named."""
    monkeypatch.chdir(tmp_path)
    raw = tmp_path / "raw.jsonl"
    srsly.write_jsonl(raw, [{"text": f"A Ana mora em Lisboa e o Rui em Braga, disse ele {i}."} for i in range(40)])

    def save_vectors(seed: int, path: Path) -> None:
        nlp = spacy.blank("pt")
        for word in ("Ana", "mora", "em", "Lisboa", "Rui", "Braga"):
            nlp.vocab.set_vector(word, numpy.random.default_rng(seed).uniform(-1, 1, 8).astype("f"))
        nlp.to_disk(path)

    save_vectors(0, tmp_path / "mine")  # the user's vectors, which init-vectors copies to training/vectors/nlp
    settings = Settings(train="unused", init="pretrain", raw_text=str(raw), pretrain_epochs=1, vectors="mine")
    fill_config(base_config=ROOT / "configs" / "ud_base_config.cfg", output=tmp_path / "filled.cfg", settings=settings)
    args = {"method": Method.pretrain, "output_dir": tmp_path / "init", "raw_text": raw, "config": tmp_path / "filled.cfg"}
    with pytest.raises(ConfigError, match="training/vectors/nlp, which does not exist: run init-vectors first"):
        init_weights(**args)

    shutil.copytree(tmp_path / "mine", tmp_path / "training" / "vectors" / "nlp")
    first = init_weights(**args)
    assert first["changed"] and first["built_from"]["vectors_md5"]
    assert not init_weights(**args)["changed"]
    weights = (tmp_path / "init" / "pretrain" / "model-last.bin").read_bytes()

    config = util.load_config(tmp_path / "filled.cfg", interpolate=True)
    nlp = util.load_model_from_config(config)
    nlp.vocab.vectors = spacy.load(tmp_path / "training" / "vectors" / "nlp").vocab.vectors
    nlp.get_pipe("tok2vec").model.initialize(X=[nlp.make_doc("Ana mora em Lisboa.")])
    nlp.get_pipe("tok2vec").model.from_bytes(weights)  # what spaCy's init_tok2vec does in train
    config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] = False
    without = util.load_model_from_config(config).get_pipe("tok2vec").model
    without.initialize(X=[nlp.make_doc("Ana mora em Lisboa.")])
    with pytest.raises(ValueError):
        without.from_bytes(weights)

    save_vectors(1, tmp_path / "training" / "vectors" / "nlp")
    assert init_weights(**args)["changed"]
