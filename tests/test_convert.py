"""convert: source resolution, seeded split by document, outputs and stats, CLI errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from conftest import ANA_SENTENCE, ROOT, sentences
from pt_pipelines.readers.conllu import CorpusError
from scripts.convert import convert, resolve_sources, split_documents


def load(path: Path):
    return list(DocBin().from_disk(path).get_docs(spacy.blank("pt").vocab))


def test_folder_with_ud_names_gives_all_three_splits(write, tmp_path):
    for split in ("train", "dev", "test"):
        write(f"corpus/pt_x-ud-{split}.conllu", sentences(3))
    folder = tmp_path / "corpus"
    sources = resolve_sources(folder, folder, folder)
    assert {k: v.name for k, v in sources.items()} == {
        "train": "pt_x-ud-train.conllu",
        "dev": "pt_x-ud-dev.conllu",
        "test": "pt_x-ud-test.conllu",
    }


def test_single_file_means_dev_and_test_are_split_off(write):
    train = write("only.conllu", sentences(3))
    assert resolve_sources(train, train, train) == {"train": train, "dev": None, "test": None}


def test_missing_inputs_are_reported(tmp_path, write):
    with pytest.raises(CorpusError, match="no such file or folder"):
        resolve_sources(tmp_path / "nope.conllu", tmp_path / "nope.conllu", tmp_path / "nope.conllu")
    write("folder/notes.txt", "x")
    with pytest.raises(CorpusError, match="no train file in this folder"):
        resolve_sources(tmp_path / "folder", tmp_path / "folder", tmp_path / "folder")


def test_split_is_seeded_by_document_and_covers_everything():
    nlp = spacy.blank("pt")
    docs = [nlp(f"documento {i}") for i in range(50)]
    a = split_documents(docs, 0.1, 0.2, seed=1, need_dev=True, need_test=True)
    b = split_documents(docs, 0.1, 0.2, seed=1, need_dev=True, need_test=True)
    c = split_documents(docs, 0.1, 0.2, seed=2, need_dev=True, need_test=True)
    texts = lambda split: [[d.text for d in part] for part in split]  # noqa: E731
    assert texts(a) == texts(b) != texts(c)
    assert [len(p) for p in a] == [35, 5, 10]
    assert sorted(d.text for part in a for d in part) == sorted(d.text for d in docs)


def test_convert_writes_docbins_and_stats(write, tmp_path):
    train = write(
        "train.conllu",
        "# newdoc\n" + ANA_SENTENCE + "\n\n" + "".join(f"# newdoc\n{sentences(2, 2 * k)}" for k in range(19)),
    )
    stats = convert(train, train, train, tmp_path / "out", seed=0, dev_ratio=0.1, test_ratio=0.1)
    splits = {s: load(tmp_path / "out" / f"{s}.spacy") for s in ("train", "dev", "test")}
    assert [len(splits[s]) for s in ("train", "dev", "test")] == [16, 2, 2]
    on_disk = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert on_disk == stats
    assert sum(s["documents"] for s in stats["splits"].values()) == 20
    assert sum(s["sentences"] for s in stats["splits"].values()) == 39
    assert stats["labels"] == ["LOC", "PER"]
    assert stats["sources"]["dev"] == "split from train (seed 0)"


def test_cli_error_names_file_and_line_and_exits_nonzero(write, tmp_path):
    bad = write("bad.conllu", "1\tCasa\n\n")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "convert.py"),
            "--train",
            str(bad),
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"{bad}:1: expected 10 tab-separated columns, found 2" in result.stderr
    assert not (tmp_path / "out" / "train.spacy").exists()


def test_format_is_detected_by_content_when_the_extension_says_nothing(write, tmp_path):
    data = write("data.txt", sentences(30))
    stats = convert(data, data, data, tmp_path / "out")
    assert stats["formats"] == {"train": "conllu"}
    with pytest.raises(CorpusError, match="unknown format 'xml'"):
        convert(data, data, data, tmp_path / "out", fmt="xml")


def test_extra_train_goes_to_the_training_split_only(write, tmp_path):
    for split in ("train", "dev", "test"):
        write(f"corpus/pt_x-ud-{split}.conllu", sentences(10, start={"train": 0, "dev": 100, "test": 200}[split]))
    write("extra/a-ud-dev.conllu", sentences(10, start=300))  # a "dev" file of another treebank: training data here
    write("extra/b.conllu", sentences(10, start=400))
    write("extra/.hidden.conllu", sentences(10, start=500))
    folder = tmp_path / "corpus"
    plain = convert(folder, folder, folder, tmp_path / "out1", extra_train=folder)  # the default: nothing extra
    extra = convert(folder, folder, folder, tmp_path / "out2", extra_train=tmp_path / "extra")
    assert extra["splits"]["train"]["sentences"] == plain["splits"]["train"]["sentences"] + 20
    assert extra["splits"]["dev"] == plain["splits"]["dev"] and extra["splits"]["test"] == plain["splits"]["test"]
    assert [Path(p).name for p in extra["extra_train"]] == ["a-ud-dev.conllu", "b.conllu"]
    texts = {d.text for d in load(tmp_path / "out2" / "train.spacy")}
    assert any("Casa300" in t for t in texts) and not any("Casa500" in t for t in texts)
    with pytest.raises(CorpusError, match="missing \\(extra_train\\): no such file or folder"):
        convert(folder, folder, folder, tmp_path / "out3", extra_train=tmp_path / "missing")
