"""SIGKILL at points of convert, annotate, train and package: every output is the old one or the new one, never
a mix that a later step accepts, and the next run succeeds and is correct.

Kills land at fixed points between writes (PT_PIPELINES_KILL_AT, see pt_pipelines.files.fault_point) and after
delays; the runs that train are marked slow."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import spacy

from conftest import ROOT
from pt_pipelines.files import checksum
from pt_pipelines.textio import CorpusError
from scripts.train import check_corpus

SAMPLE = ROOT / "assets/sample"
CORPUS_FILES = ("train.spacy", "dev.spacy", "test.spacy", "stats.json", "rejects.jsonl")


def step(*args, kill_at: str = "", cwd: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "PT_PIPELINES_KILL_AT": kill_at}
    return subprocess.Popen(
        [sys.executable, "-m", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out + err


def kill_when(proc: subprocess.Popen, ready, delay: float = 0.0, timeout: float = 300) -> None:
    """SIGKILL proc `delay` seconds after ready() first holds (or when it has ended by itself)."""
    deadline = time.time() + timeout
    while proc.poll() is None and not ready() and time.time() < deadline:
        time.sleep(0.002)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


def sums(folder: Path, names) -> dict[str, str | None]:
    """Checksums of the files; stats.json's without its "seconds", the one thing two equal runs differ in."""
    found: dict[str, str | None] = {}
    for name in names:
        path = folder / name
        if name == "stats.json" and path.exists():
            found[name] = json.dumps({**json.loads(path.read_text()), "seconds": None}, sort_keys=True)
        else:
            found[name] = checksum(path) if path.exists() else None
    return found


# ---- convert --------------------------------------------------------------------------------------------------------


def convert_args(train: Path, out: Path) -> list:
    return ["scripts.convert", "--train", train, "--output-dir", out]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, dict[str, str | None]]:
    """The old corpus (the sample's dev file as train input) and the new one (the sample): their checksums."""
    base = tmp_path_factory.mktemp("corpora")
    old_input = base / "old-input"
    old_input.mkdir()
    for split in ("train", "dev", "test"):
        shutil.copy(SAMPLE / "pt_sample-ud-dev.conllu", old_input / f"pt_old-ud-{split}.conllu")
    for name, source in (("old", old_input), ("new", SAMPLE)):
        assert finish(step(*convert_args(source, base / name)))[0] == 0
    return {"dir": base, "old": sums(base / "old", CORPUS_FILES), "new": sums(base / "new", CORPUS_FILES)}


@pytest.mark.slow  # kills a subprocess at each fault point: a few seconds each
@pytest.mark.parametrize(
    "kill_at",
    [
        "convert:moved:train.spacy",
        "delay:0.0",
        pytest.param("convert:scratch-written", marks=pytest.mark.slow),
        pytest.param("convert:moved:test.spacy", marks=pytest.mark.slow),
        pytest.param("convert:moved:rejects.jsonl", marks=pytest.mark.slow),
        pytest.param("delay:0.05", marks=pytest.mark.slow),
    ],
)
def test_convert_killed_leaves_the_old_corpus_or_one_that_train_refuses(corpora, tmp_path, kill_at):
    out = tmp_path / "corpus"
    shutil.copytree(corpora["dir"] / "old", out)
    if kill_at.startswith("delay:"):  # from the moment its write phase starts
        proc = step(*convert_args(SAMPLE, out))
        kill_when(proc, lambda: (tmp_path / ".corpus-convert").exists(), float(kill_at.split(":")[1]))
    else:
        code, output = finish(step(*convert_args(SAMPLE, out), kill_at=kill_at))
        assert code == -signal.SIGKILL, output
    now = sums(out, CORPUS_FILES)
    for name in CORPUS_FILES:
        assert now[name] in (corpora["old"][name], corpora["new"][name]), name
    try:
        check_corpus([out / "train.spacy", out / "dev.spacy"])
    except CorpusError as e:
        assert "run convert again" in str(e)
    else:  # train accepts it only when it is one corpus, whole
        assert now in (corpora["old"], corpora["new"])

    code, output = finish(step(*convert_args(SAMPLE, out)))
    assert code == 0, output
    assert sums(out, CORPUS_FILES) == corpora["new"]
    check_corpus([out / "train.spacy", out / "dev.spacy"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]  # no scratch, no lock left


# ---- annotate -------------------------------------------------------------------------------------------------------


@pytest.mark.slow  # kills a subprocess at each fault point: a few seconds each
@pytest.mark.parametrize(
    "size", [30_000, pytest.param(1, marks=pytest.mark.slow), pytest.param(300_000, marks=pytest.mark.slow)]
)
def test_annotate_killed_then_resumed_writes_every_record_once(blank_model, tmp_path, size):
    lines = [
        "{broken" if i % 97 == 13 else json.dumps({"n": i, "text": f"A Ana mora em Lisboa desde {i}."})
        for i in range(3000)
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf8")
    assert finish(step("scripts.annotate", blank_model, src, tmp_path / "reference.jsonl"))[0] == 0
    out = tmp_path / "out.jsonl"
    proc = step("scripts.annotate", blank_model, src, out, "--batch-size", "8")
    kill_when(proc, lambda: out.exists() and out.stat().st_size >= size)
    code, output = finish(step("scripts.annotate", blank_model, src, out))  # takes over the killed run's lock
    assert code == 0, output
    assert out.read_bytes() == (tmp_path / "reference.jsonl").read_bytes()
    assert (tmp_path / "out.jsonl.rejects.jsonl").read_bytes() == (
        tmp_path / "reference.jsonl.rejects.jsonl"
    ).read_bytes()
    assert not (tmp_path / "out.jsonl.lock").exists()


# ---- package --------------------------------------------------------------------------------------------------------


def wheel_description(package_dir: Path) -> str:
    wheel = next((package_dir / "dist").glob("*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith("/meta.json") and n.count("/") == 2)
        return json.loads(zf.read(meta))["description"]


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["package:built", "delay:1.0"])
def test_package_killed_leaves_the_old_package_whole(blank_model, tmp_path, kill_at):
    out = tmp_path / "packages"
    args = ["scripts.package", blank_model, out, "--name", "tiny", "--version", "0.0.1"]
    args += ["--meta-template", ROOT / "configs/meta-template.json"]
    assert finish(step(*args, "--description", "old"))[0] == 0
    package_dir = out / "pt_tiny-0.0.1"
    old = checksum(package_dir)
    if kill_at.startswith("delay:"):
        proc = step(*args, "--description", "new")
        kill_when(proc, lambda: (out / ".pt_tiny-0.0.1-build").exists(), float(kill_at.split(":")[1]))
    else:
        assert finish(step(*args, "--description", "new", kill_at=kill_at))[0] == -signal.SIGKILL
    assert checksum(package_dir) == old and wheel_description(package_dir) == "old"
    code, output = finish(step(*args, "--description", "new"))
    assert code == 0, output
    assert wheel_description(package_dir) == "new"
    assert sorted(p.name for p in out.iterdir()) == ["pt_tiny-0.0.1"]


# ---- train ----------------------------------------------------------------------------------------------------------

TRAIN_RESULTS = ("model-best", "model-last", "log.jsonl", "train-summary.json")


@pytest.fixture(scope="module")
def tiny_training(tmp_path_factory, corpora) -> dict:
    """NER-only configs for 20 steps on the new corpus (seeds 1 and 2), and a first training (seed 1)."""
    from pt_pipelines.configs import Settings
    from scripts.fill_config import fill_config

    base = tmp_path_factory.mktemp("train")
    corpus = corpora["dir"] / "new"
    configs = {}
    for seed in (1, 2):
        configs[seed] = base / f"config-{seed}.cfg"
        settings = Settings(train=str(corpus / "train.spacy"), dev=str(corpus / "dev.spacy"), seed=seed, max_steps=20)
        fill_config(base_config=ROOT / "configs/ner_base_config.cfg", output=configs[seed], settings=settings)
    code, output = finish(step("scripts.train", configs[1], "--output", base / "training"))
    assert code == 0, output
    return {"args": ["scripts.train", configs[2]], "first": base / "training"}


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["train:trained", "train:moved:model-best", "train:moved:log.jsonl", "delay:2.0"])
def test_train_killed_leaves_each_result_old_or_new_and_reruns(tiny_training, tmp_path, kill_at):
    out = tmp_path / "training"
    shutil.copytree(tiny_training["first"], out)
    old = sums(out, TRAIN_RESULTS)
    args = [*tiny_training["args"], "--output", out]
    if kill_at.startswith("delay:"):
        proc = step(*args)
        kill_when(proc, lambda: (out / ".train-scratch").exists(), float(kill_at.split(":")[1]))
    else:
        assert finish(step(*args, kill_at=kill_at))[0] == -signal.SIGKILL
    for name in TRAIN_RESULTS:
        if checksum(out / name) != old[name]:  # a new result, whole
            if name.startswith("model-"):
                assert spacy.load(out / name).pipe_names == ["tok2vec", "ner"]
            elif name == "log.jsonl":
                assert all(json.loads(line) for line in (out / name).read_text().splitlines())
            else:
                assert json.loads((out / name).read_text())["seed"] == 2
    code, output = finish(step(*args))  # the killed run's lock and scratch are taken over
    assert code == 0, output
    assert json.loads((out / "train-summary.json").read_text())["seed"] == 2
    assert spacy.load(out / "model-best").pipe_names == ["tok2vec", "ner"]
    assert sorted(p.name for p in out.iterdir()) == sorted(TRAIN_RESULTS)
