"""Annotate text with a trained pipeline, streaming, resumable, keeping each record's metadata.

Input: plain text (one document per line), JSONL (`{"text": ..., any other fields}`) or .spacy.
Output: JSONL, each input record with a "spacy" field holding tokens (text, offsets, POS, tag, morph,
lemma, head, dep), sentences and entities as character offsets; or .spacy.

JSONL output is resumable: rerun the same command after an interruption and records already written
are skipped; none is duplicated or dropped. OUTPUT.state.json holds the model's and the input's md5:
when either changed, the run starts over instead of resuming. Bad input records (invalid JSON, no text) go with their
line number to the reject file and the run goes on. Memory stays constant for text and JSONL input.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import spacy
import typer
from spacy.tokens import Doc, DocBin
from tqdm import tqdm

from fileio import atomic_path, checksum, write_json
from textio import read_lines

INPUT_FORMATS = ("auto", "text", "jsonl", "spacy")


@dataclass
class Record:
    line: int  # line number in the input (document number for .spacy input)
    text: str
    fields: dict[str, Any]


@dataclass
class BadRecord:
    line: int
    error: str
    raw: str


def input_format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    return {".jsonl": "jsonl", ".spacy": "spacy"}.get(path.suffix.lower(), "text")


def read_records(path: Path, fmt: str, vocab) -> Iterator[Record | BadRecord]:
    """Stream the input's records (and its bad ones) in order."""
    if fmt == "spacy":
        for i, doc in enumerate(DocBin().from_disk(path).get_docs(vocab), start=1):
            yield Record(i, doc.text, dict(doc.user_data.get("fields", {})) if doc.user_data else {})
        return
    for lineno, line in read_lines(path):
        if not line.strip():
            continue
        if fmt == "text":
            yield Record(lineno, line.strip(), {})
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            yield BadRecord(lineno, f"invalid JSON: {e.msg} at column {e.colno}", line)
            continue
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            yield BadRecord(lineno, 'no "text" field with a string', line)
            continue
        yield Record(lineno, value["text"], value)


def doc_to_json(doc: Doc) -> dict[str, Any]:
    """Tokens, sentences and entities of a Doc, with character offsets."""
    tokens = [
        {
            "text": t.text,
            "start": t.idx,
            "end": t.idx + len(t),
            "ws": bool(t.whitespace_),
            "pos": t.pos_,
            "tag": t.tag_,
            "morph": str(t.morph),
            "lemma": t.lemma_,
            "head": t.head.i,
            "dep": t.dep_,
        }
        for t in doc
    ]
    sents = (
        [[s.start_char, s.end_char] for s in doc.sents]
        if doc.has_annotation("SENT_START") or doc.has_annotation("DEP")
        else []
    )
    ents = [{"start": e.start_char, "end": e.end_char, "label": e.label_, "text": e.text} for e in doc.ents]
    return {"tokens": tokens, "sents": sents, "ents": ents}


def last_written_line(path: Path, key: str) -> int:
    """The input line of the last complete record in a JSONL file we wrote; a torn last line is cut off."""
    if not path.exists():
        return 0
    last, good_size = 0, 0
    with path.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # written partly when the run was interrupted
            try:
                value = json.loads(raw)
                last = value[key]["line"]
            except (ValueError, KeyError, TypeError):
                raise SystemExit(
                    f"✘ {path}: line {raw[:60]!r}... was not written by annotate. Pass another output "
                    "path, or --overwrite to start over"
                ) from None
            good_size += len(raw)
    if good_size != path.stat().st_size:
        with path.open("r+b") as f:
            f.truncate(good_size)
    return last


def annotate(
    model: Path,
    input_path: Path,
    output: Path,
    rejects: Path,
    fmt: str = "auto",
    batch_size: int = 64,
    n_process: int = 1,
    overwrite: bool = False,
    interactive: bool = False,
) -> dict[str, int]:
    """Annotate input into output; return counts of written, skipped-as-done and rejected records."""
    nlp = spacy.load(model)
    fmt = input_format(input_path, fmt)
    to_jsonl = output.suffix.lower() != ".spacy"
    state_path = output.with_name(output.name + ".state.json")
    state = {"model_md5": checksum(model), "input_md5": checksum(input_path), "input_format": fmt}
    if (
        to_jsonl
        and not overwrite
        and state_path.exists()
        and json.loads(state_path.read_text(encoding="utf8")) != state
    ):
        print(f"the model or the input changed since {output} was started: starting over", file=sys.stderr)
        overwrite = True
    if overwrite or not to_jsonl:  # .spacy output is written whole at the end, so it always starts over
        for path in (output, rejects) if to_jsonl else (rejects,):
            if path.exists():
                path.unlink()
    write_json(state_path, state)
    done = max(last_written_line(output, "spacy"), last_written_line(rejects, "reject")) if to_jsonl else 0
    pending: deque[BadRecord] = deque()
    counts = {"written": 0, "already_done": 0, "rejected": 0, "words": 0}

    def good_records() -> Iterator[tuple[str, Record]]:
        for rec in read_records(input_path, fmt, nlp.vocab):
            if rec.line <= done:
                counts["already_done"] += 1
            elif isinstance(rec, BadRecord):
                pending.append(rec)
            else:
                yield rec.text, rec

    output.parent.mkdir(parents=True, exist_ok=True)
    out = output.open("a", encoding="utf8") if to_jsonl else None
    rej = rejects.open("a", encoding="utf8")
    docbin = DocBin(store_user_data=True) if not to_jsonl else None

    def flush_rejects(before: float) -> None:
        # rejects go out in input order, after every good record before them is on its way to disk
        while pending and pending[0].line < before:
            bad = pending.popleft()
            if out is not None:
                out.flush()
            rej.write(
                json.dumps(
                    {"reject": {"line": bad.line, "error": f"{input_path}:{bad.line}: {bad.error}"}, "record": bad.raw},
                    ensure_ascii=False,
                )
                + "\n"
            )
            rej.flush()
            counts["rejected"] += 1
            print(f"⚠ {input_path}:{bad.line}: {bad.error}: written to {rejects}", file=sys.stderr, flush=True)

    bar = tqdm(unit=" words", unit_scale=True, disable=not interactive, desc="annotating")
    started = last_report = time.perf_counter()
    try:
        for doc, rec in nlp.pipe(good_records(), as_tuples=True, batch_size=batch_size, n_process=n_process):
            flush_rejects(rec.line)
            if out is not None:
                out.write(
                    json.dumps(
                        {**rec.fields, "text": rec.text, "spacy": {"line": rec.line, **doc_to_json(doc)}},
                        ensure_ascii=False,
                    )
                    + "\n"
                )
            else:
                doc.user_data["fields"] = rec.fields
                docbin.add(doc)
            counts["written"] += 1
            counts["words"] += len(doc)
            bar.update(len(doc))
            now = time.perf_counter()
            if not interactive and now - last_report > 10:
                print(
                    f"annotated {counts['written']} records, {counts['words'] / (now - started):.0f} words/s",
                    flush=True,
                )
                last_report = now
        flush_rejects(float("inf"))
    finally:
        bar.close()
        if out is not None:
            out.close()
        rej.close()
    if docbin is not None:
        with atomic_path(output) as tmp:
            docbin.to_disk(tmp)
    counts["seconds"] = round(time.perf_counter() - started, 2)
    return counts


def main(
    model: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained pipeline folder or package path"),
    input_path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Text (a document per line), .jsonl or .spacy"
    ),
    output: Path = typer.Argument(..., help=".jsonl (resumable) or .spacy"),
    rejects: Optional[Path] = typer.Option(None, help="Reject file for bad records; default: OUTPUT.rejects.jsonl"),
    fmt: str = typer.Option("auto", "--format", help=f"Input format: {', '.join(INPUT_FORMATS)}"),
    batch_size: int = typer.Option(64, min=1, help="Documents per nlp.pipe batch"),
    n_process: int = typer.Option(1, min=1, help="Processes for nlp.pipe"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start over instead of resuming an existing output"),
) -> None:
    """Annotate documents; rerun the same command to resume an interrupted run."""
    if fmt not in INPUT_FORMATS:
        typer.echo(f"✘ --format {fmt}: use one of {', '.join(INPUT_FORMATS)}", err=True)
        raise typer.Exit(2)
    if output.resolve() == input_path.resolve():
        typer.echo("✘ the output would overwrite the input: pass another output path", err=True)
        raise typer.Exit(2)
    rejects = rejects or output.with_name(output.name + ".rejects.jsonl")
    counts = annotate(model, input_path, output, rejects, fmt, batch_size, n_process, overwrite, sys.stderr.isatty())
    typer.echo(
        f"✔ {counts['written']} records written to {output}, {counts['already_done']} already done, "
        f"{counts['rejected']} rejected to {rejects}; {counts['words'] / max(counts['seconds'], 1e-9):.0f} words/s"
    )


if __name__ == "__main__":
    typer.run(main)
