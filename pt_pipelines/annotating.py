"""Annotate's records through a pipeline, shared by the local backend (annotate.py) and the ray backend.

Reading a line turns what json or the output file cannot take into a reject with its line (JSON nested past
Python's recursion limit, a lone surrogate such as `\\ud800`). A text longer than `nlp.max_length` is not
rejected: it is annotated in pieces cut at a paragraph, line, sentence or word end and joined back into one
Doc, so every offset is one into the whole text, as if spaCy had read it in one go.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc

from pt_pipelines.records import BadRecord, Record, parse_line

CUTS = ("\n\n", "\n", ". ", " ")  # a long text is cut after one of these, in order of preference


def read_record(lineno: int, line: str, fmt: str) -> Optional[Record | BadRecord]:
    """parse_line, with the records that would stop the run when read or written turned into bad records."""
    try:
        rec = parse_line(lineno, line, fmt)
        if isinstance(rec, Record) and fmt != "text":  # what record_json will write must be writable
            json.dumps(rec.fields, ensure_ascii=False).encode("utf-8")
    except RecursionError:  # json recurses once per [ or {
        return BadRecord(lineno, "JSON nested deeper than Python's json reads (about 1000 levels of [ or {)", line)
    except UnicodeEncodeError as e:  # only a \uXXXX escape in the line can make one
        code = f"\\u{ord(e.object[e.start]):04x}"
        return BadRecord(lineno, f"a lone surrogate {code} (half a UTF-16 pair, not a character)", line)
    return rec


def split_text(text: str, limit: int) -> list[str]:
    """The text in pieces of at most `limit` characters, each cut after the best break in its second half
    (else after its last word, else hard)."""
    pieces = []
    while len(text) > limit:
        window = text[:limit]
        floors = (limit // 2, limit // 2, limit // 2, 0)
        cut = next((window.rfind(c) + len(c) for c, floor in zip(CUTS, floors) if window.rfind(c) > floor), limit)
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text]


def pipe_records(nlp: Language, records: Iterable[Record], batch_size: int,
        n_process: int = 1) -> Iterator[tuple[Doc, Record]]:
    """nlp.pipe over records, in order; a text over nlp.max_length comes back as one Doc of its pieces."""

    def pieces() -> Iterator[tuple[str, tuple[Record, bool]]]:
        for rec in records:
            parts = split_text(rec.text, nlp.max_length)
            for i, part in enumerate(parts, start=1):
                yield part, (rec, i == len(parts))

    docs: list[Doc] = []
    for doc, (rec, last) in nlp.pipe(pieces(), as_tuples=True, batch_size=batch_size, n_process=n_process):
        docs.append(doc)
        if last:  # each piece but the last ends at a break, so joining adds no character
            yield (docs[0] if len(docs) == 1 else Doc.from_docs(docs, ensure_whitespace=False)), rec
            docs = []
