"""Shared test helpers: the project root and small CoNLL-U builders."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pytest
import spacy
import srsly
import weasel.cli.run as weasel_run

ROOT = Path(__file__).resolve().parent.parent
ALL_STEPS: list[str] = srsly.read_yaml(ROOT / "project.yml")["workflows"]["all"]  # test_project_yml pins the list
# subprocesses run steps as `python -m scripts.<name>`: from a project copy's folder (cwd) when they have one,
# else from this checkout, wherever pytest was started
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))


def benchmark_module(name: str) -> ModuleType:
    """benchmarks/<name>.py, a script rather than a package module, loaded by its path for the tests."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def venv_on_this_environment(folder: Path) -> Path:
    """A new virtual environment that sees this one's packages (a .pth file), for installing a built package with
    `pip install --no-index`: pip finds every requirement here or fails. Its python is returned. Without pip and
    setuptools of its own, whose old bundled versions would shadow this environment's: pip comes from here too."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "parent_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.fixture(scope="session")
def blank_model(tmp_path_factory) -> Path:
    """A blank Portuguese pipeline with a sentencizer, saved: annotates in milliseconds."""
    path = tmp_path_factory.mktemp("blank") / "model"
    nlp = spacy.blank("pt")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(path)
    return path


def conllu_line(
    i: int | str,
    form: str,
    lemma: str = "_",
    upos: str = "NOUN",
    feats: str = "_",
    head: int | str = 0,
    deprel: str = "root",
    misc: str = "_",
) -> str:
    """One CoNLL-U word line; columns not given get plausible defaults."""
    return "\t".join([str(i), form, lemma, upos, "_", feats, str(head), deprel, "_", misc])


# "Ana mora no Porto." with the contraction no = em + o as a multiword token
ANA_SENTENCE = "\n".join(
    [
        "# sent_id = 1",
        "# text = Ana mora no Porto.",
        conllu_line(1, "Ana", "Ana", "PROPN", "Gender=Fem|Number=Sing", 2, "nsubj", "NE=B-PER"),
        conllu_line(2, "mora", "morar", "VERB", "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin", 0, "root"),
        "3-4\tno\t_\t_\t_\t_\t_\t_\t_\t_",
        conllu_line(3, "em", "em", "ADP", "_", 5, "case"),
        conllu_line(4, "o", "o", "DET", "Definite=Def|Gender=Masc|Number=Sing|PronType=Art", 5, "det"),
        conllu_line(5, "Porto", "Porto", "PROPN", "Gender=Masc|Number=Sing", 2, "obl", "NE=B-LOC|SpaceAfter=No"),
        conllu_line(6, ".", ".", "PUNCT", "_", 2, "punct"),
    ]
)


@pytest.fixture
def write(tmp_path: Path):
    """Write text to a file under tmp_path and return its path."""

    def _write(name: str, text: str, encoding: str = "utf8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode(encoding))
        return path

    return _write


def sentences(n: int, start: int = 0) -> str:
    """n distinct two-word sentences ("Casa0 caiu." ...) as CoNLL-U text."""
    out = []
    for k in range(start, start + n):
        out.append(
            "\n".join(
                [
                    conllu_line(1, f"Casa{k}", f"casa{k}", "NOUN", "_", 2, "nsubj"),
                    conllu_line(2, "caiu", "cair", "VERB", "_", 0, "root"),
                ]
            )
        )
    return "\n\n".join(out) + "\n\n"


GENERATED = (
    "corpus",
    "training",
    "metrics",
    "project.lock",
    "config.cfg",
    "packages",
    ".git",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".venv",
    ".venv-trf",
)


def run_all(project: Path, overrides: dict | None = None, workflow: str = "all") -> list[str]:
    """Run a workflow in-process through weasel's API; return the names of the commands that executed."""
    ran: list[str] = []
    real_update = weasel_run.update_lockfile

    def recording_update(project_dir, cmd):
        ran.append(cmd["name"])
        real_update(project_dir, cmd)

    weasel_run.update_lockfile = recording_update
    try:
        weasel_run.project_run(project, workflow, overrides=overrides or {})
    finally:
        weasel_run.update_lockfile = real_update
    return ran


class SampleRun(NamedTuple):
    path: Path
    ran: list[str]


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> SampleRun:
    """A copy of the project after `all` with default vars on the shipped sample (one training per session).
    Read it only; copy it to change it."""
    project = tmp_path_factory.mktemp("sample") / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*GENERATED))
    return SampleRun(project, run_all(project))


def docbin(tmp_path: Path, pos: bool, ents: bool) -> Path:
    """A one-sentence training file, with POS tags and an entity or without: enough for fill-config's choices."""
    import spacy
    from spacy.tokens import Doc, DocBin, Span

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
