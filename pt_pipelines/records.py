"""Annotate's records: parsing an input line, and the JSON line written for an annotated document.

Shared by the local backend (annotate.py) and the ray backend (ray_annotate.py), so both write the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from spacy.tokens import Doc


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


def record_json(rec: Record, doc: Doc) -> str:
    """The output line for an annotated record: its fields, its text and the "spacy" annotation."""
    return json.dumps({**rec.fields, "text": rec.text, "spacy": {"line": rec.line, **doc_to_json(doc)}},
        ensure_ascii=False)


@dataclass
class Annotated:
    line: int
    json: str  # the output line, without its line end
    words: int
    doc: Optional[Doc] = None  # kept only for .spacy output
