"""Collect raw text for `spacy pretrain` and static vectors as JSONL, one {"text": ...} per sentence or line.

Inputs are .spacy files (a converted corpus: its sentences, so no annotation is used), .jsonl files with a
"text" field, plain .txt files (a text per non-blank line), or folders of such files (hidden ones skipped).
Exact repeats are dropped, so boilerplate lines do not dominate. Only training text belongs here: the files
given with --exclude (the project passes its dev and test splits) are refused, and every sentence of theirs is
removed from the text read (held_out.py: compared after normalising case, spaces and punctuation, and by
runs of words), since pretraining or vectors learnt from them would leak the evaluation into the model.
Files are read as a stream: memory grows only with the number of distinct lines kept (a hash each).
A summary (inputs with md5 and words, texts and words written, sentences removed) goes to <output>.json.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import spacy
import typer
from spacy.tokens import DocBin

from pt_pipelines.files import atomic_path, checksum, write_json
from pt_pipelines.held_out import HeldOut
from pt_pipelines.records import BadRecord, parse_line
from pt_pipelines.textio import CorpusError, read_lines

SUFFIXES = (".spacy", ".jsonl", ".txt")


def input_files(path: Path, skip: set[Path]) -> list[Path]:
    """The file itself, or a folder's .spacy, .jsonl and .txt files (not hidden, not in skip) in name order."""
    if path.is_dir():
        files = sorted(
            (
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and p.resolve() not in skip
            ),
            key=lambda p: p.relative_to(path).as_posix(),
        )
        if not files:
            raise CorpusError(path, "folder", "no .spacy, .jsonl or .txt files", "point --vars.raw_text at raw text")
        return files
    if path.suffix.lower() not in SUFFIXES:
        raise CorpusError(path, "file", f"unknown raw text format {path.suffix!r}", f"use one of {', '.join(SUFFIXES)}")
    return [path]


def file_texts(path: Path, lang: str = "pt") -> Iterator[str]:
    """The texts of one file: a .spacy file's sentences (its docs if unsegmented), JSONL "text", text lines."""
    suffix = path.suffix.lower()
    if suffix == ".spacy":
        try:
            docs = list(DocBin().from_disk(path).get_docs(spacy.blank(lang).vocab))
        except (ValueError, KeyError, TypeError, zlib.error) as e:
            raise CorpusError(
                path, "file", f"not a spaCy DocBin ({type(e).__name__})", "convert it first, or give .jsonl or .txt"
            ) from None
        for doc in docs:
            parts = doc.sents if doc.has_annotation("SENT_START") else [doc[:]]
            yield from (span.text.strip() for span in parts)
        return
    for lineno, line in read_lines(path):
        record = parse_line(lineno, line, "jsonl" if suffix == ".jsonl" else "text")
        if isinstance(record, BadRecord):
            raise CorpusError(path, lineno, record.error, 'write one {"text": "..."} object per line')
        if record is not None:
            yield record.text.strip()


def write_raw_text(inputs: list[Path], output: Path, lang: str = "pt", exclude: tuple[Path, ...] = ()) -> int:
    """Write the inputs' distinct non-blank texts, less the held-out sentences of `exclude`, to output (JSONL,
    atomically) and a summary to <output>.json; return how many texts."""
    refused = {p.resolve(): "a held-out split" for p in exclude} | {output.resolve(): "the output"}
    files = [file for path in inputs for file in input_files(path, skip={output.resolve()})]
    for file in files:
        if file.resolve() in refused:
            raise CorpusError(
                file, "file", f"is {refused[file.resolve()]}", "point --vars.raw_text at training text only"
            )
    held_out = HeldOut.from_docbins([p for p in exclude if p.exists()], lang)
    seen: set[bytes] = set()
    words = 0
    with atomic_path(output) as tmp, tmp.open("w", encoding="utf8", newline="\n") as out:
        for file in files:
            for text in file_texts(file, lang):
                text = held_out.remove(text)
                digest = hashlib.md5(text.encode("utf8")).digest()
                if text and digest not in seen:
                    seen.add(digest)
                    words += len(text.split())
                    out.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        if not seen and not held_out.removed:
            raise CorpusError(inputs[0], "all records", "no text found", "point --vars.raw_text at files with text")
    summary = {
        # the md5 of raw text files; a .spacy file's md5 also covers its annotation, which raw text does not use,
        # so that re-annotating the corpus leaves this summary, and init-weights after it, unchanged
        "inputs": [
            {"path": file.as_posix(), "md5": None if file.suffix.lower() == ".spacy" else checksum(file)}
            for file in files
        ],
        "texts": len(seen),
        "words": words,
        "md5": checksum(output),
        "held_out": {"files": [p.as_posix() for p in exclude], **held_out.counts()},
    }
    write_json(summary_path(output), summary)
    return len(seen)


def summary_path(output: Path) -> Path:
    """Where write_raw_text puts its summary: beside the output, as <output>.json."""
    return output.with_name(output.name + ".json")


def main(
    inputs: list[Path] = typer.Argument(..., exists=True, help="Training text: .spacy, .jsonl, .txt files or folders"),
    output: Path = typer.Option(..., "--output", help="JSONL file for spacy pretrain and the vectors"),
    exclude: list[Path] = typer.Option([], help="Files that must not be read (the dev and test splits)"),
    lang: str = typer.Option("pt", help="Language of the .spacy files' vocab"),
) -> None:
    """Collect the training text as JSONL for pretraining and static vectors."""
    try:
        n = write_raw_text(inputs, output, lang, tuple(exclude))
    except CorpusError as e:
        typer.echo(f"✘ {e}", err=True)
        raise typer.Exit(1) from None
    summary = json.loads(summary_path(output).read_text(encoding="utf8"))
    removed = summary["held_out"]["removed"]
    typer.echo(f"✔ {n} texts ({summary['words']} words) in {output}; {removed} held-out sentences removed")
    if not n:
        # not an error here: init none does not read it; init-weights refuses it for vectors and pretrain
        typer.echo("⚠ every sentence of the raw text is in the dev or test split: nothing is left to learn from")


if __name__ == "__main__":
    typer.run(main)
