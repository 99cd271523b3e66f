"""Ray: the sweep and the distributed annotate, against the sample and the local annotate path.

Ray is optional: without it these tests skip, except the one that checks the one-line message. CI
installs requirements-ray.txt and sets REQUIRE_RAY=1, so that a broken install fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import srsly
from spacy import util

from conftest import ROOT, docbin, run_all

try:
    import ray  # noqa: F401

    HAVE_RAY = True
except ImportError:
    HAVE_RAY = False
    if os.environ.get("REQUIRE_RAY") == "1":
        raise
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed (pip install -r requirements-ray.txt)")


def python(*args, check=True, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, check=check, cwd=cwd, env=env
    )


@pytest.mark.parametrize("module", ["pt_pipelines.distributed.ray_annotate", "pt_pipelines.distributed.ray_setup", "scripts.sweep"])
def test_importing_without_ray_says_what_to_install_in_one_line(module):
    blocked = f"import sys; sys.modules['ray'] = None; import {module}"
    result = python("-c", blocked, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "✘ Ray is not installed: run `pip install -r requirements-ray.txt` (the optional Ray extra)"
    ]


def test_local_annotate_does_not_need_ray(tmp_path):
    blocked = (
        "import sys, runpy; sys.modules['ray'] = None; "
        "sys.argv = ['annotate', '--help']; runpy.run_module('scripts.annotate', run_name='__main__')"
    )
    assert "--backend" in python("-c", blocked).stdout


def tiny_sweep(path: Path, **settings) -> Path:
    spec = {
        "space": {
            "training.optimizer.learn_rate": {"loguniform": [0.0005, 0.005]},
            "components.tok2vec.model.encode.width": {"choice": [32, 64]},
        },
        "num_samples": 2,
        "max_steps": 20,
        "eval_frequency": 10,
        "scheduler": "asha",
        "grace_period": 10,
        **settings,
    }
    srsly.write_yaml(path, spec)
    return path


@needs_ray
@pytest.mark.slow
def test_sweep_command_runs_two_trials_on_ray_and_writes_the_best_config(sample_run, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(sample_run.path, project, ignore=shutil.ignore_patterns("sweep", ".git"))
    tiny_sweep(project / "configs/tiny.yml")
    ran = run_all(project, {"vars.sweep_space": "configs/tiny.yml"}, workflow="sweep")
    assert ran == ["sweep"]
    # unchanged inputs: the sweep does not run again
    assert run_all(project, {"vars.sweep_space": "configs/tiny.yml"}, workflow="sweep") == []
    result = json.loads((project / "metrics/sweep.json").read_text())
    assert result["backend"] == "ray" and len(result["trials"]) == 2
    for trial in result["trials"]:
        assert trial["status"] in ("finished", "stopped early") and trial["best"] is not None
        assert 0 <= trial["scores_at_best"]["pos_acc"] <= 1 and trial["last_step"] <= 20
    assert result["best"]["best"] == max(t["best"] for t in result["trials"])
    # each trial trained in its own folder, from its own config
    configs = sorted((project / "training/sweep").rglob("spacy/config.cfg"))
    assert len(configs) == 2
    widths = {
        util.load_config(c, interpolate=False)["components"]["tok2vec"]["model"]["encode"]["width"] for c in configs
    }
    assert widths == {t["params"]["components.tok2vec.model.encode.width"] for t in result["trials"]}
    # the best config carries the best trial's values and trains through the normal workflow
    best = util.load_config(project / "configs/best.cfg", interpolate=False)
    for key, value in result["best"]["params"].items():
        node = best
        for part in key.split("."):
            node = node[part]
        assert node == value
    ran = run_all(project, {"vars.base_config": "configs/best.cfg", "vars.max_steps": 20}, workflow="all")
    assert ran[:3] == ["fill-config", "init-weights", "train"]  # best.cfg fills like any base config


@needs_ray
@pytest.mark.slow
def test_sequential_backend_trains_the_same_trials(sample_run, tmp_path):
    corpus = sample_run.path / "corpus"
    args = [
        "-m", "scripts.sweep",
        ROOT / "configs/base_config.cfg",
        "--space",
        tiny_sweep(tmp_path / "tiny.yml", scheduler="fifo"),
        "--train",
        corpus / "train.spacy",
        "--dev",
        corpus / "dev.spacy",
        "--best",
        tmp_path / "best.cfg",
    ]
    python(*args, "--output", tmp_path / "seq.json", "--storage", tmp_path / "seq", "--backend", "sequential")
    python(*args, "--output", tmp_path / "ray.json", "--storage", tmp_path / "ray", "--backend", "ray")
    seq, par = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("seq", "ray"))
    assert [t["params"] for t in seq["trials"]] == [t["params"] for t in par["trials"]]
    assert all(t["status"] == "finished" and t["last_step"] == 20 for t in seq["trials"] + par["trials"])
    # same seed, same config, same data: a Ray trial trains exactly what the sequential one does
    assert [t["best"] for t in seq["trials"]] == pytest.approx([t["best"] for t in par["trials"]], abs=1e-9)


def test_a_trial_gets_the_vectors_and_weights_of_the_config_in_its_own_folder(tmp_path, monkeypatch):
    """A Ray worker starts in its trial's folder, maybe on another machine: the project's files the config names travel
    with the trial like its corpus; a package name stays a name. No Ray needed: these are plain functions."""
    from pt_pipelines.distributed.tune_trial import pack_paths, unpack_paths

    monkeypatch.chdir(tmp_path)
    (tmp_path / "training/vectors/nlp/vocab").mkdir(parents=True)
    (tmp_path / "training/vectors/nlp/vocab/vectors").write_bytes(b"\x00\x01" * 100)
    (tmp_path / "training/init").mkdir(parents=True)
    (tmp_path / "training/init/model-last.bin").write_bytes(b"weights")
    config = {"paths": {"vectors": "training/vectors/nlp", "init_tok2vec": "training/init/model-last.bin"}}
    trial = tmp_path / "elsewhere"
    overrides = unpack_paths(pack_paths(config), trial)
    assert overrides == {"paths.vectors": str(trial / "vectors"), "paths.init_tok2vec": str(trial / "init_tok2vec")}
    assert (trial / "vectors/vocab/vectors").read_bytes() == b"\x00\x01" * 100
    assert (trial / "init_tok2vec").read_bytes() == b"weights"
    assert pack_paths({"paths": {"vectors": "pt_core_news_lg", "init_tok2vec": None}}) == {}


@needs_ray
@pytest.mark.slow
def test_a_sweep_of_a_config_with_vectors_trains_every_trial_on_ray(sample_run, tmp_path):
    """fill-config names outside vectors by a path relative to the project; Ray runs each trial in its own folder."""
    import numpy
    import spacy
    from spacy.vectors import Vectors

    from pt_pipelines.configs import Settings, fill

    corpus = sample_run.path / "corpus"
    vec = tmp_path / "tiny.vec"
    vec.write_text("3 4\no 0.1 0.2 0.3 0.4\nde 0.2 0.1 0.0 0.3\ncasa 0.5 0.1 0.2 0.1\n", encoding="utf8")
    config = fill(ROOT / "configs/base_config.cfg", Settings(train=str(corpus / "train.spacy"), vectors=str(vec)))
    assert config["paths"]["vectors"] == "training/vectors/nlp"
    nlp = spacy.blank("pt")
    table = numpy.asarray([[0.1, 0.2, 0.3, 0.4], [0.2, 0.1, 0.0, 0.3]], dtype="float32")
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=table, keys=["o", "de"])
    (tmp_path / "training/vectors").mkdir(parents=True)
    nlp.to_disk(tmp_path / "training/vectors/nlp")
    config.to_disk(tmp_path / "config.cfg")
    python(
        "-m", "scripts.sweep", tmp_path / "config.cfg", "--space", tiny_sweep(tmp_path / "tiny.yml", scheduler="fifo"),
        "--train", corpus / "train.spacy", "--dev", corpus / "dev.spacy", "--best", tmp_path / "best.cfg",
        "--output", tmp_path / "sweep.json", "--storage", tmp_path / "ray", "--backend", "ray", cwd=tmp_path,
    )  # fmt: skip
    result = json.loads((tmp_path / "sweep.json").read_text())
    assert all(t["status"] == "finished" and t["last_step"] == 20 for t in result["trials"]), result["trials"]
    configs = sorted((tmp_path / "ray").rglob("spacy/config.cfg"))
    assert len(configs) == 2
    for trial_config in configs:  # each trial read its own copy, outside the folders Ray copies to storage
        vectors = Path(util.load_config(trial_config, interpolate=False)["paths"]["vectors"])
        assert vectors.is_absolute() and vectors.name == "vectors" and not vectors.exists()  # used, then removed
    assert not list((tmp_path / "ray").rglob("vectors"))


@needs_ray
@pytest.mark.parametrize(
    "space, message",
    [
        ({"training.dropout": {"normal": [0, 1]}}, "space.training.dropout: write one of"),
        ({"training.dropout": {"uniform": [0.5, 0.1]}}, "low <= high"),
        ({"training.dropout": {"loguniform": [0, 0.1]}}, "loguniform needs low > 0"),
        (
            {"training.droput": {"uniform": [0.1, 0.2]}},
            "space.training.droput: configs/base_config.cfg (filled) has no",
        ),
        ({"training.optimizer": {"choice": [1, 2]}}, "is a section, not a value"),
    ],
)
def test_bad_search_space_names_the_key(tmp_path, space, message):
    path = tmp_path / "bad.yml"
    srsly.write_yaml(path, {"space": space})
    corpus = tmp_path / "corpus"  # never read: the space is checked first
    corpus.mkdir()
    for split in ("train", "dev"):
        (corpus / f"{split}.spacy").write_bytes(b"")
    result = python(
        "-m", "scripts.sweep", "configs/base_config.cfg", "--space", path, "--train", corpus / "train.spacy",
        "--dev", corpus / "dev.spacy", "--best", tmp_path / "best.cfg", check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "best.cfg").exists()


SWEEP_SPACES = {"configs/sweep.yml": ("configs/base_config.cfg", []),
                "configs/experiments/sweep_ner.yml": ("configs/ner_base_config.cfg", []),
                "configs/experiments/sweep_ner_bilstm.yml": ("configs/ner_base_config.cfg", ["ner_bilstm"])}


@needs_ray
@pytest.mark.parametrize("space", sorted(SWEEP_SPACES))
def test_each_shipped_sweep_space_loads_and_names_settings_of_its_config(space, tmp_path, monkeypatch):
    from pt_pipelines.configs import Settings, fill
    from scripts.sweep import check_keys, load_sweep

    assert sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("configs/**/sweep*.yml")) == sorted(SWEEP_SPACES)
    base, experiments = SWEEP_SPACES[space]
    if experiments:
        pytest.importorskip("torch", reason="spacy.TorchBiLSTMEncoder.v1 needs PyTorch (requirements-trf.txt)")
    monkeypatch.chdir(ROOT)
    if space != "configs/sweep.yml":  # the default space fits any base config; the others say which they fit
        header = (ROOT / space).read_text(encoding="utf8")
        assert all(name in header for name in [Path(base).name, *experiments])
    spec = load_sweep(ROOT / space)
    train = docbin(tmp_path, pos=True, ents=True)
    filled = fill(ROOT / base, Settings(train=str(train), max_steps=100), experiments)
    check_keys(filled, ROOT / base, list(spec["space"]), ROOT / space)


@needs_ray
def test_sampling_is_seeded_and_stays_in_range():
    from scripts.sweep import sample_trials

    space = {
        "a": {"loguniform": [0.001, 0.1]},
        "b": {"randint": [2, 4]},
        "c": {"choice": ["x", "y"]},
        "d": {"uniform": [0.1, 0.2]},
    }
    trials = sample_trials(space, 50, seed=3)
    assert trials == sample_trials(space, 50, seed=3) != sample_trials(space, 50, seed=4)
    assert all(
        0.001 <= t["a"] <= 0.1 and t["b"] in (2, 3, 4) and t["c"] in "xy" and 0.1 <= t["d"] <= 0.2 for t in trials
    )
    assert {t["b"] for t in trials} == {2, 3, 4}


def records_file(path: Path, n: int) -> Path:
    sentences = (ROOT / "assets/examples/pt_news.txt").read_text(encoding="utf8").splitlines()
    lines = []
    for i in range(n):
        if i % 41 == 7:
            lines.append("{broken")
        elif i % 53 == 11:
            lines.append(json.dumps({"n": i, "body": "no text"}))
        elif i % 29 == 3:
            lines.append("")
        else:
            lines.append(
                json.dumps({"n": i, "text": sentences[i % len(sentences)], "meta": {"k": i}}, ensure_ascii=False)
            )
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf8")  # CRLF, as a Windows export has
    return path


@needs_ray
@pytest.mark.slow
def test_ray_annotate_writes_what_local_annotate_writes_record_by_record(sample_run, tmp_path):
    model = sample_run.path / "training/model-best"
    src = records_file(tmp_path / "in.jsonl", 400)
    annotate = ("-m", "scripts.annotate")
    python(*annotate, model, src, tmp_path / "local.jsonl", "--batch-size", "16")
    result = python(*annotate, model, src, tmp_path / "ray.jsonl", "--batch-size", "16", "--backend", "ray")
    assert "records written" in result.stdout
    local = (tmp_path / "local.jsonl").read_text(encoding="utf8").splitlines()
    distributed = (tmp_path / "ray.jsonl").read_text(encoding="utf8").splitlines()
    assert len(local) > 300 and len(distributed) == len(local)
    for a, b in zip(local, distributed):
        assert a == b
    assert (tmp_path / "ray.jsonl.rejects.jsonl").read_text().replace("ray.jsonl", "") == (
        tmp_path / "local.jsonl.rejects.jsonl"
    ).read_text().replace("local.jsonl", "")
    rejects = [json.loads(line)["reject"]["line"] for line in (tmp_path / "ray.jsonl.rejects.jsonl").open()]
    assert rejects == [i + 1 for i in range(400) if i % 41 == 7 or i % 53 == 11]

    # resume after a kill: the output torn mid-record, the rejects only up to the last complete record
    out, rej = tmp_path / "ray.jsonl", tmp_path / "ray.jsonl.rejects.jsonl"
    data, rejected = out.read_bytes(), rej.read_bytes()
    torn = data[: len(data) // 2]
    last_line = json.loads(torn[: torn.rindex(b"\n")].rsplit(b"\n", 1)[-1])["spacy"]["line"]
    out.write_bytes(torn)
    rej.write_bytes(
        b"".join(r for r in rejected.splitlines(keepends=True) if json.loads(r)["reject"]["line"] < last_line)
    )
    resumed = python(*annotate, model, src, out, "--batch-size", "16", "--backend", "ray")
    assert "already done" in resumed.stdout and " 0 already done" not in resumed.stdout
    assert rej.read_bytes() == rejected
    assert out.read_bytes() == data


@needs_ray
@pytest.mark.slow  # trains the sample
def test_ray_annotate_refuses_spacy_files_and_uris_without_ray_backend(sample_run, tmp_path):
    model = sample_run.path / "training/model-best"
    src = tmp_path / "in.txt"
    src.write_text("Uma frase.\n")
    annotate = ("-m", "scripts.annotate")
    spacy_out = python(*annotate, model, src, tmp_path / "o.spacy", "--backend", "ray", check=False)
    assert spacy_out.returncode != 0 and "use the local backend for .spacy" in spacy_out.stderr
    uri = python(*annotate, model, "s3://bucket/in.txt", tmp_path / "o.jsonl", check=False)
    assert uri.returncode == 2 and "only the ray backend reads and writes URIs" in uri.stderr


@needs_ray
@pytest.mark.slow
def test_ray_annotate_reads_and_writes_uris(sample_run, tmp_path):
    """file:// goes through the same pyarrow file systems as s3:// and gs://, without a network."""
    model = sample_run.path / "training/model-best"
    src = records_file(tmp_path / "in.jsonl", 60)
    annotate = ("-m", "scripts.annotate")
    python(*annotate, model, src, tmp_path / "local.jsonl")
    out_uri = (tmp_path / "bucket/out/annotated.jsonl").as_uri()
    python(*annotate, model, src.as_uri(), out_uri, "--backend", "ray")
    assert (tmp_path / "bucket/out/annotated.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    rejects = (tmp_path / "bucket/out/annotated.jsonl.rejects.jsonl").read_text()
    assert rejects.count("\n") == 3 and src.as_uri() in rejects


@needs_ray
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "ray"])
def test_undecodable_input_names_its_line_in_one_line(sample_run, tmp_path, backend):
    model = sample_run.path / "training/model-best"
    src = tmp_path / "in.txt"
    src.write_bytes(b"Uma frase.\n" * 1500 + b"Outra \xff frase.\n")
    out = tmp_path / "out.jsonl"
    result = python("-m", "scripts.annotate", model, src, out, "--backend", backend, check=False)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("✘")]
    assert errors == [
        f"✘ {src}:1501: not valid UTF-8 (invalid start byte, byte 0xff): save the file as UTF-8 (a BOM and CRLF line ends are fine)"
    ]
