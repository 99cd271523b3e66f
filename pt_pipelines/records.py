"""Annotate's records: parsing an input line, running records through a pipeline, and the JSON line written for
an annotated document; shared by the local and the ray backend, so both write the same bytes.

What json or the output file cannot take (JSON nested past Python's recursion limit, a lone surrogate such as
`\\ud800`) is a reject with its line. A text longer than `nlp.max_length` is annotated in pieces cut at a paragraph,
line, sentence or word end and joined into one Doc, so every offset is one into the whole text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Optional

from spacy.language import Language
from spacy.tokens import Doc

CUTS = ("\n\n", "\n", ". ", " ")  # a long text is cut after one of these, in order of preference


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


@dataclass
class Annotated:
    line: int
    json: str  # the output line, without its line end
    words: int
    doc: Optional[Doc] = None  # kept only for .spacy output


def parse_line(lineno: int, line: str, fmt: str) -> Record | BadRecord | None:
    """One input line as a record, a bad record, or None when it is blank."""
    if not line.strip():
        return None
    if fmt == "text":
        return Record(lineno, line.strip(), {})
    try:
        value = json.loads(line)
    except json.JSONDecodeError as e:
        return BadRecord(lineno, f"invalid JSON: {e.msg} at column {e.colno}", line)
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        return BadRecord(lineno, 'no "text" field with a string', line)
    return Record(lineno, value["text"], value)


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
    parts = ((part, (rec, i == len(ps))) for rec in records
             for ps in [split_text(rec.text, nlp.max_length)] for i, part in enumerate(ps, start=1))
    docs: list[Doc] = []
    for doc, (rec, last) in nlp.pipe(parts, as_tuples=True, batch_size=batch_size, n_process=n_process):
        docs.append(doc)
        if last:  # each piece but the last ends at a break, so joining adds no character
            yield (docs[0] if len(docs) == 1 else Doc.from_docs(docs, ensure_whitespace=False)), rec
            docs = []


def record_json(rec: Record, doc: Doc) -> str:
    """The output line for an annotated record: its fields, its text and the "spacy" annotation, the Doc's tokens,
    sentences and entities with character offsets."""
    tokens = [{"text": t.text, "start": t.idx, "end": t.idx + len(t), "ws": bool(t.whitespace_), "pos": t.pos_,
               "tag": t.tag_, "morph": str(t.morph), "lemma": t.lemma_, "head": t.head.i, "dep": t.dep_} for t in doc]
    has_sents = doc.has_annotation("SENT_START") or doc.has_annotation("DEP")
    sents = [[s.start_char, s.end_char] for s in doc.sents] if has_sents else []
    ents = [{"start": e.start_char, "end": e.end_char, "label": e.label_, "text": e.text} for e in doc.ents]
    spacy = {"line": rec.line, "tokens": tokens, "sents": sents, "ents": ents}
    return json.dumps({**rec.fields, "text": rec.text, "spacy": spacy}, ensure_ascii=False)
