"""raw_text: training text from .spacy, .jsonl and .txt files or folders, as JSONL for spacy pretrain."""

from __future__ import annotations

import gzip
import hashlib
import lzma
import subprocess
import sys

import pytest
import spacy
import srsly
from spacy.tokens import Doc, DocBin

from conftest import ROOT
from pt_pipelines.textio import CorpusError
from pt_pipelines.vectors import write_tokenized
from scripts.raw_text import write_raw_text


def test_spacy_sentences_jsonl_and_text_lines_are_collected_once(write, tmp_path):
    nlp = spacy.blank("pt")
    doc = nlp("Ana mora no Porto. Rui mora em Lisboa.")
    for token in doc:
        token.is_sent_start = token.i in (0, 5)
    write("in/extra.jsonl", '{"text": "Um texto."}\n\n{"text": " Ana mora no Porto. "}\n')
    DocBin(docs=[doc, nlp("Sem frases marcadas")]).to_disk(tmp_path / "in" / "train.spacy")
    write("lines.txt", "Primeira linha\r\n\r\nSegunda linha\n")
    out = tmp_path / "raw.jsonl"
    assert write_raw_text([tmp_path / "in", tmp_path / "lines.txt"], out) == 6
    assert [r["text"] for r in srsly.read_jsonl(out)] == [
        "Um texto.",
        "Ana mora no Porto.",
        "Rui mora em Lisboa.",
        "Sem frases marcadas",
        "Primeira linha",
        "Segunda linha",
    ]


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("bad.jsonl", '{"text": "ok"}\nnot json\n', "bad.jsonl:2: invalid JSON"),
        ("bad.jsonl", '{"text": "ok"}\n{"body": "x"}\n', 'bad.jsonl:2: no "text" field'),
        ("bad.csv", "a,b\n", "unknown raw text format '.csv'"),
        ("empty.txt", "\n\n", "no text found"),
    ],
)
def test_bad_input_is_located_and_leaves_no_output(write, tmp_path, name, text, message):
    path = write(name, text)
    out = tmp_path / "raw.jsonl"
    with pytest.raises(CorpusError, match=message):
        write_raw_text([path], out)
    assert not out.exists() and not list(tmp_path.glob(".raw.jsonl.*"))


def test_held_out_splits_hidden_files_and_the_output_itself_are_never_read(write, tmp_path):
    write("corpus/train.txt", "Texto de treino\n")
    write("corpus/dev.txt", "Texto de desenvolvimento\n")
    write("corpus/.cache/old.txt", "Texto escondido\n")
    out = tmp_path / "corpus" / "raw_text.jsonl"
    with pytest.raises(CorpusError, match="dev.txt \\(file\\): is a held-out split"):
        write_raw_text([tmp_path / "corpus"], out, exclude=(tmp_path / "corpus" / "dev.txt",))
    (tmp_path / "corpus" / "dev.txt").unlink()
    assert write_raw_text([tmp_path / "corpus"], out) == 1
    write("corpus/train.txt", "Outro texto\n")
    assert write_raw_text([tmp_path / "corpus"], out) == 1  # the old output in the folder is not read back
    assert [r["text"] for r in srsly.read_jsonl(out)] == ["Outro texto"]
    with pytest.raises(CorpusError, match="is the output"):
        write_raw_text([out], out)
    assert [r["text"] for r in srsly.read_jsonl(out)] == ["Outro texto"]


def test_a_file_that_is_not_a_docbin_is_reported(write, tmp_path):
    path = write("train.spacy", "not a docbin")
    with pytest.raises(CorpusError, match="train.spacy \\(file\\): not a spaCy DocBin"):
        write_raw_text([path], tmp_path / "raw.jsonl")


def test_cli_reports_a_bad_folder_in_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "raw_text.py"),
            str(tmp_path / "empty"),
            "--output",
            str(tmp_path / "o.jsonl"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "no .spacy, .jsonl or .txt files (plain, .xz or .gz)" in result.stderr and "Traceback" not in result.stderr


def test_held_out_sentences_are_removed_after_normalising_and_counted(tmp_path, write):
    nlp = spacy.blank("pt")
    held = nlp("O Banco Central subiu os juros em março de 1994, disse o ministro. Chove.")
    for token in held:
        token.is_sent_start = token.i in (0, 14)
    DocBin(docs=[held]).to_disk(tmp_path / "test.spacy")
    write(
        "raw/news.txt",
        "Antes disso. o banco central SUBIU os juros em março de 1994 disse o ministro! Depois disso.\n"
        "Uma linha sem nada.\n"
        "chove\n"
        "Ontem o Banco Central subiu os juros em março de 1994, num dia frio.\n",
    )
    out = tmp_path / "raw.jsonl"
    assert write_raw_text([tmp_path / "raw"], out, exclude=(tmp_path / "test.spacy",)) == 2
    assert [r["text"] for r in srsly.read_jsonl(out)] == ["Antes disso. Depois disso.", "Uma linha sem nada."]
    summary = srsly.read_json(tmp_path / "raw.jsonl.json")
    assert summary["held_out"]["removed"] == 3 and summary["held_out"]["sentences"] == 2
    assert summary["words"] == 8 and summary["inputs"][0]["md5"]


def test_xz_and_gz_text_is_read_as_a_stream_like_plain_text(tmp_path, write):
    lines = "Primeira linha do arquivo\nSegunda linha\n"
    (tmp_path / "raw").mkdir()
    with lzma.open(tmp_path / "raw" / "a.txt.xz", "wt", encoding="utf8") as f:
        f.write(lines)
    with gzip.open(tmp_path / "raw" / "b.jsonl.gz", "wt", encoding="utf8") as f:
        f.write('{"text": "Um texto comprimido."}\n{"text": "Segunda linha"}\n')
    write("raw/skipped.xz", "not a known format inside")
    out = tmp_path / "raw.jsonl"
    assert write_raw_text([tmp_path / "raw"], out) == 3
    assert [r["text"] for r in srsly.read_jsonl(out)] == [
        "Primeira linha do arquivo",
        "Segunda linha",
        "Um texto comprimido.",
    ]
    summary = srsly.read_json(tmp_path / "raw.jsonl.json")  # the md5 of the text, not of its compressed form
    assert summary["inputs"][0]["md5"] == hashlib.md5(lines.encode()).hexdigest()
    assert summary["md5"] == hashlib.md5(out.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["cut.txt.xz", "cut.jsonl.gz"])
def test_a_truncated_or_corrupt_archive_is_one_located_error(tmp_path, name):
    opener = lzma.open if name.endswith(".xz") else gzip.open
    with opener(tmp_path / "full", "wt", encoding="utf8") as f:
        f.write("".join(f'{{"text": "Linha número {i} do texto"}}\n' for i in range(20000)))
    data = (tmp_path / "full").read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    (tmp_path / f"bad-{name}").write_bytes(data[:20] + b"\xff" * 50 + data[70:])
    for path in (tmp_path / name, tmp_path / f"bad-{name}"):
        with pytest.raises(CorpusError, match=f"{path.name}:\\d+: not a complete .(xz|gz) archive"):
            write_raw_text([path], tmp_path / "raw.jsonl")
        assert not (tmp_path / "raw.jsonl").exists()
    result = subprocess.run(
        [sys.executable, "-m", "scripts.raw_text", str(tmp_path / name), "--output", str(tmp_path / "o.jsonl")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1 and "archive" in result.stderr and "Traceback" not in result.stderr


def test_words_are_counted_alike_from_iob_tokens_and_from_running_text(tmp_path):
    """A corpus converted from IOB columns has a space before each punctuation mark; doccano JSONL has not."""
    nlp = spacy.blank("pt")
    words = ["O", "Rui", "mora", "em", "Lisboa", ",", "disse", "a", "Ana", "(", "ontem", ")", "."]
    DocBin(docs=[Doc(nlp.vocab, words=words)]).to_disk(tmp_path / "iob.spacy")
    DocBin(docs=[nlp("O Rui mora em Lisboa, disse a Ana (ontem).")]).to_disk(tmp_path / "doccano.spacy")
    for name in ("iob", "doccano"):
        write_raw_text([tmp_path / f"{name}.spacy"], tmp_path / f"{name}.jsonl")
        assert srsly.read_json(tmp_path / f"{name}.jsonl.json")["words"] == 9


def test_tokenizing_in_two_processes_writes_the_same_text(tmp_path, write):
    raw = write("raw.jsonl", "".join(f'{{"text": "O Rui (n.º {i}) mora em Lisboa."}}\n' for i in range(50)))
    assert write_tokenized(raw, tmp_path / "one.txt", "pt") == write_tokenized(raw, tmp_path / "two.txt", "pt", 2)
    assert (tmp_path / "one.txt").read_text() == (tmp_path / "two.txt").read_text()
