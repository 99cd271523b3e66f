"""Collect raw text for `spacy pretrain` (and static vectors) as JSONL, one {"text": ...} per sentence.

Inputs are .spacy files (a converted corpus: its sentences, so no annotation is used), .jsonl files with a
"text" field, plain .txt files (a text per non-blank line), or folders of such files. Exact repeats are
dropped, so boilerplate lines do not dominate the objective. Point it only at training text: pretraining
on the dev or test text would leak them into the model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import spacy
import typer
from spacy.tokens import DocBin

from fileio import atomic_path
from textio import CorpusError, read_lines

SUFFIXES = (".spacy", ".jsonl", ".txt")


def input_files(path: Path) -> list[Path]:
    """The file itself, or a folder's .spacy, .jsonl and .txt files in name order."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        if not files:
            raise CorpusError(path, "folder", "no .spacy, .jsonl or .txt files", "point --vars.raw_text at raw text")
        return files
    if path.suffix not in SUFFIXES:
        raise CorpusError(path, "file", f"unknown raw text format {path.suffix!r}", f"use one of {', '.join(SUFFIXES)}")
    return [path]


def file_texts(path: Path, lang: str = "pt") -> Iterator[str]:
    """The texts of one file: a .spacy file's sentences (its docs if unsegmented), JSONL "text", text lines."""
    if path.suffix == ".spacy":
        vocab = spacy.blank(lang).vocab
        for doc in DocBin().from_disk(path).get_docs(vocab):
            parts = doc.sents if doc.has_annotation("SENT_START") else [doc[:]]
            yield from (span.text.strip() for span in parts)
    elif path.suffix == ".jsonl":
        for lineno, line in read_lines(path):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise CorpusError(
                    path, lineno, f"not JSON ({e.msg})", 'write one {"text": "..."} object per line'
                ) from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise CorpusError(path, lineno, 'no "text" string', 'write one {"text": "..."} object per line')
            yield record["text"].strip()
    else:
        yield from (line.strip() for _, line in read_lines(path))


def write_raw_text(inputs: list[Path], output: Path, lang: str = "pt") -> int:
    """Write the inputs' distinct non-blank texts to output (JSONL, atomically); return how many."""
    seen: set[str] = set()
    with atomic_path(output) as tmp, tmp.open("w", encoding="utf8") as out:
        for path in inputs:
            for file in input_files(path):
                for text in file_texts(file, lang):
                    if text and text not in seen:
                        seen.add(text)
                        out.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        if not seen:
            raise CorpusError(inputs[0], "all records", "no text found", "point --vars.raw_text at files with text")
    return len(seen)


def main(
    inputs: list[Path] = typer.Argument(..., exists=True, help="Training text: .spacy, .jsonl, .txt files or folders"),
    output: Path = typer.Option(..., "--output", help="JSONL file for spacy pretrain (paths.raw_text)"),
    lang: str = typer.Option("pt", help="Language of the .spacy files' vocab"),
) -> None:
    """Collect the training text as JSONL for spacy pretrain."""
    try:
        n = write_raw_text(inputs, output, lang)
    except CorpusError as e:
        typer.echo(f"✘ {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"✔ {n} texts in {output}")


if __name__ == "__main__":
    typer.run(main)
