"""annotate: resume state and rejects belong to one output, foreign files are refused, one run per output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import typer
from typer.testing import CliRunner

from scripts.annotate import main

app = typer.Typer()
app.command()(main)


@pytest.fixture
def model(blank_model) -> Path:
    return blank_model


def records(path: Path, n: int, bad_every: int = 0, start: int = 0) -> Path:
    lines = [
        "{broken" if bad_every and i % bad_every == bad_every - 1 else json.dumps({"n": i, "text": f"Frase {i}."})
        for i in range(start, start + n)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


def test_two_outputs_have_their_own_rejects_and_resume_state(model, tmp_path):
    first = records(tmp_path / "a.jsonl", 16, bad_every=8)
    second = records(tmp_path / "b.jsonl", 20, start=100)
    code, out = run(model, first, tmp_path / "ann/one.jsonl")
    assert code == 0, out
    code, out = run(model, second, tmp_path / "ann/two.jsonl")
    assert code == 0, out
    assert "0 already done" in out and "20 records written" in out
    assert [r["n"] for r in lines_of(tmp_path / "ann/two.jsonl")] == list(range(100, 120))
    assert [r["reject"]["line"] for r in lines_of(tmp_path / "ann/one.jsonl.rejects.jsonl")] == [8, 16]
    assert (tmp_path / "ann/two.jsonl.rejects.jsonl").read_text() == ""


def test_a_rejects_file_of_another_output_is_refused_not_resumed_from(model, tmp_path):
    first = records(tmp_path / "a.jsonl", 16, bad_every=8)
    second = records(tmp_path / "b.jsonl", 20, start=100)
    shared = tmp_path / "rejects.jsonl"
    assert run(model, first, tmp_path / "one.jsonl", "--rejects", shared)[0] == 0
    before = shared.read_bytes()
    code, out = run(model, second, tmp_path / "two.jsonl", "--rejects", shared)
    assert code == 1 and "✘" in out and "--overwrite" in out and "Traceback" not in out
    assert shared.read_bytes() == before and not (tmp_path / "two.jsonl").exists()


@pytest.mark.parametrize("content", [b"my notes, no newline", b"hello\n", b'{"spacy": {"line": 1}}\n'])
def test_an_existing_output_annotate_did_not_write_is_refused(model, tmp_path, content):
    src = records(tmp_path / "in.jsonl", 3)
    out = tmp_path / "notes.jsonl"
    out.write_bytes(content)
    code, message = run(model, src, out)
    assert code == 1 and f"✘ {out}" in message and "--overwrite" in message
    assert out.read_bytes() == content
    code, message = run(model, src, out, "--overwrite")
    assert code == 0, message
    assert len(lines_of(out)) == 3


def test_output_equal_to_rejects_is_an_error(model, tmp_path):
    src = records(tmp_path / "in.jsonl", 3)
    code, message = run(model, src, tmp_path / "o.jsonl", "--rejects", tmp_path / "o.jsonl")
    assert code == 2 and "✘" in message and "rejects" in message
    assert not (tmp_path / "o.jsonl").exists()


def test_resume_after_a_torn_line_continues_where_it_stopped(model, tmp_path):
    src = records(tmp_path / "in.jsonl", 30, bad_every=7)
    out = tmp_path / "o.jsonl"
    assert run(model, src, out)[0] == 0
    whole, rejects = out.read_bytes(), (tmp_path / "o.jsonl.rejects.jsonl").read_bytes()
    kept = whole.splitlines(keepends=True)[:10]
    out.write_bytes(b"".join(kept) + b'{"n": 3')
    # as a kill leaves it: a reject is written only after every good record before it is on disk
    last = json.loads(kept[-1])["spacy"]["line"]
    rejected = tmp_path / "o.jsonl.rejects.jsonl"
    rejected.write_bytes(
        b"".join(r for r in rejects.splitlines(keepends=True) if json.loads(r)["reject"]["line"] < last)
    )
    code, message = run(model, src, out)
    assert code == 0 and "already done" in message and " 0 already done" not in message, message
    assert out.read_bytes() == whole and (tmp_path / "o.jsonl.rejects.jsonl").read_bytes() == rejects


def test_a_second_run_on_the_same_output_is_refused_while_the_first_holds_the_lock(model, tmp_path):
    src = records(tmp_path / "in.jsonl", 5)
    out = tmp_path / "o.jsonl"
    lock = tmp_path / "o.jsonl.lock"
    lock.write_text(f"{os.getppid()}\n")  # a live process: our parent
    code, message = run(model, src, out)
    assert code == 1 and "another run holds" in message and str(lock) in message and f"pid {os.getppid()}" in message
    assert not out.exists() and lock.exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(f"{dead.pid}\n")  # a killed run's lock is taken over
    code, message = run(model, src, out)
    assert code == 0, message
    assert len(lines_of(out)) == 5 and not lock.exists()


def test_missing_parent_folders_of_the_output_and_rejects_are_created(model, tmp_path):
    src = records(tmp_path / "in.txt", 2)
    code, message = run(model, src, tmp_path / "annotations/new/out.jsonl")
    assert code == 0, message
    assert (tmp_path / "annotations/new/out.jsonl.rejects.jsonl").exists()
    rejects = tmp_path / "elsewhere/rejects.jsonl"
    code, message = run(model, src, tmp_path / "fresh/out.jsonl", "--rejects", rejects)
    assert code == 0, message
    assert rejects.exists() and len(lines_of(tmp_path / "fresh/out.jsonl")) == 2


def test_deep_json_and_lone_surrogates_are_located_rejects_and_every_other_record_is_written(model, tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"n": 0, "text": "Uma frase."}),
        "[" * 50_000 + "]" * 50_000,  # RecursionError in json
        '{"n": 2, "text": "Meia \\ud800 letra."}',  # a lone surrogate: cannot be written as UTF-8
        '{"n": 3, "text": "Boa.", "meta": {"note": "\\udfff"}}',
        json.dumps({"n": 4, "text": "Um par \U0001f600 inteiro."}),  # ensure_ascii: a valid \ud83d\ude00 pair
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf8")
    code, message = run(model, src, tmp_path / "o.jsonl")
    assert code == 0 and "Traceback" not in message, message
    assert [r["n"] for r in lines_of(tmp_path / "o.jsonl")] == [0, 4]
    rejects = lines_of(tmp_path / "o.jsonl.rejects.jsonl")
    assert [r["reject"]["line"] for r in rejects] == [2, 3, 4]
    assert [r["record"] for r in rejects] == lines[1:4]  # kept verbatim: nothing is lost
    assert f"{src}:2: JSON nested deeper" in rejects[0]["reject"]["error"]
    assert all(f"{src}:{n}: a lone surrogate \\ud" in r["reject"]["error"] for n, r in zip((3, 4), rejects[1:]))


def test_a_text_over_max_length_is_annotated_in_pieces_with_offsets_into_the_whole_text(model, tmp_path):
    paragraph = "Primeira frase do parágrafo. Segunda frase, mais longa, com vírgulas.\n\n"
    text = paragraph * (spacy.blank("pt").max_length // len(paragraph) + 2)
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"n": 0, "text": text}) + "\n" + json.dumps({"n": 1, "text": "Fim."}) + "\n")
    code, message = run(model, src, tmp_path / "o.jsonl")
    assert code == 0 and "2 records written" in message, message
    long, short = lines_of(tmp_path / "o.jsonl")
    assert long["text"] == text and short["text"] == "Fim."
    nlp = spacy.load(model)
    nlp.max_length = len(text)  # what the user would get from spaCy reading the text in one go
    whole = nlp(text)
    assert [(t["text"], t["start"], t["ws"]) for t in long["spacy"]["tokens"]] == [
        (t.text, t.idx, bool(t.whitespace_)) for t in whole
    ]
    # a cut falls after a paragraph's "\n\n", which the sentencizer then ends a sentence with
    assert {text[a:b].strip() for a, b in long["spacy"]["sents"]} == {s.text.strip() for s in whole.sents}


def test_long_texts_are_cut_after_the_best_break_and_joined_without_a_character_lost():
    from pt_pipelines.records import split_text

    assert split_text("aaaa bbbb.\ncc dd. ee ff", 14) == ["aaaa bbbb.\n", "cc dd. ee ff"]
    assert split_text("aaaa. bbbb cc dddd", 10) == ["aaaa. ", "bbbb cc ", "dddd"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]  # no break at all: cut hard
    assert split_text("", 10) == [""]


def test_a_spacy_input_that_is_not_a_docbin_is_a_located_error(model, tmp_path):
    src = tmp_path / "notes.spacy"
    src.write_bytes(b"my notes, not a DocBin")
    code, message = run(model, src, tmp_path / "o.jsonl")
    assert code == 1 and "Traceback" not in message, message
    assert f"✘ {src} (whole file): not a spaCy DocBin" in message and "--format" in message
    assert not (tmp_path / "o.jsonl").exists() or (tmp_path / "o.jsonl").read_text() == ""
