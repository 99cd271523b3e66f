"""Read entity annotations with character offsets from JSON or JSONL: spaCy-style records and v2 training tuples,
doccano, Label Studio and Prodigy exports, and HAREM as neuralmind distributes it, each flavour recognised by its keys
(parse_record; docs/data.md shows them all). Span dicts may use start/end or start_offset/end_offset in every
flavour. A .jsonl file holds one record per line; a .json file a list of records (or one record)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

from spacy.language import Language
from spacy.tokens import Doc

from pt_pipelines.readers import ReadOptions, check_label
from pt_pipelines.textio import CorpusError, Where, check_length, context, read_lines

Spans = list[tuple[int, int, str, Optional[str]]]  # start, end, label, the text the record says it covers


def iter_records(path: Path | str, options: ReadOptions) -> Iterator[tuple[Where, str, Any]]:
    """Yield (location, raw text, parsed record); JSON syntax errors in JSONL lines go to on_error. A file that is
    neither .jsonl nor .json is read as one value when it parses as one, else line by line."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix != ".jsonl":
        text = "\n".join(line for _, line in read_lines(path))  # encoding checked line by line, as JSONL is
        if not text.strip():
            raise CorpusError(path, 1, "the file is empty", "export the annotations again")
        try:
            data = _loads(text, path, 1)
        except json.JSONDecodeError as e:
            if suffix == ".json" or e.msg != "Extra data":
                raise CorpusError(path, e.lineno, f"invalid JSON: {e.msg} at column {e.colno}",
                    "fix the JSON syntax (or use .jsonl for one record per line)") from None
            data = None  # several JSON values: JSON lines
        if data is not None or suffix == ".json":
            records = data if isinstance(data, list) and not _is_v2_tuple(data) else [data]
            for i, record in enumerate(records, start=1):
                try:
                    _check_value(record, path, f"record {i}")
                except CorpusError as e:
                    # ASCII escapes keep the record writable to the UTF-8 reject file
                    options.on_error(e, json.dumps(record))
                    continue
                yield f"record {i}", json.dumps(record, ensure_ascii=False), record
            return
    for lineno, line in read_lines(path):
        if not line.strip():
            continue
        try:
            record = _loads(line, path, lineno)
            _check_value(record, path, lineno)
        except json.JSONDecodeError as e:
            error = CorpusError(path, lineno, f"invalid JSON: {e.msg} at column {e.colno}", "write one JSON object per line")
        except CorpusError as e:
            error = e
        else:
            yield lineno, line, record
            continue
        options.on_error(error, line)


DEEP = ("JSON nested too deeply", "records are objects with a text and a list of spans")


def _loads(text: str, path: Path, where: Where) -> Any:
    """json.loads, with nesting deeper than Python's recursion limit as a CorpusError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise CorpusError(path, where, *DEEP) from None


def _check_value(value: Any, path: Path, where: Where) -> None:
    """Raise a CorpusError for what json accepts and a corpus cannot hold: lone surrogate escapes ("\\ud800"),
    which no UTF-8 file can store, and nesting too deep to write back."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise CorpusError(path, where, *DEEP) from None
    except UnicodeEncodeError as e:
        problem = f"lone surrogate \\u{ord(e.object[e.start]):04x} (half of a UTF-16 pair, escaped in the JSON)"
        raise CorpusError(path, where, problem, "fix the export: text must be valid Unicode") from None


def _is_v2_tuple(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], dict)


def _offsets(item: Any) -> tuple[Any, Any, Any, Optional[str]]:
    """(start, end, label, covered text) of a span: a dict with start/end or start_offset/end_offset, or a list."""
    if isinstance(item, dict):
        start_key, end_key = ("start", "end") if "start" in item else ("start_offset", "end_offset")
        label = item.get("label")
        if label is None and isinstance(item.get("labels"), list) and item["labels"]:
            label = item["labels"][0]
        return item.get(start_key), item.get(end_key), label, item.get("text")
    if isinstance(item, (list, tuple)) and len(item) >= 3:
        return item[0], item[1], item[2], None
    return None, None, None, None


def _list(record: dict, key: str, default: Any = ()) -> list:
    """record[key] as a list (default when absent); another JSON type is a ValueError naming the key."""
    value = record.get(key, default)
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{key!r} must be a list, found {_json_type(value)}")
    return list(value)


def _object(value: Any, what: str) -> dict:
    """value when it is a JSON object; else a ValueError saying what `what` is instead."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object, found {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _label_studio(record: dict) -> tuple[Any, list]:
    """(text, raw spans) of a Label Studio task: the first annotation that was not cancelled."""
    data = _object(record.get("data", {}), "'data'")
    if (text := data.get("text")) is None:
        text = next((v for v in data.values() if isinstance(v, str)), None)
    annotations = _list(record, "annotations" if "annotations" in record else "completions")
    kept = [a for i, a in enumerate(annotations, start=1) if not _object(a, f"annotation {i}").get("was_cancelled")]
    raw = []
    for i, result in enumerate(_list(kept[0], "result") if kept else [], start=1):
        if _object(result, f"Label Studio result item {i}").get("type") == "relation":
            continue  # relations link regions; they mark no text
        if "value" not in result:
            # an entity whose region was lost in the export: dropping it would train its text as "no entity"
            raise ValueError(f"Label Studio result {i} has no 'value' (the labelled region)")
        value = _object(result["value"], f"the 'value' of Label Studio result {i}")
        if "start" in value or "end" in value or "labels" in value:
            raw.append(_offsets(value))
    return text, raw


def _prodigy(record: dict) -> tuple[Any, list, list[tuple[str, bool]]]:
    """(text, raw spans, tokens) of a Prodigy task; spans may be given by token ids."""
    toks = _list(record, "tokens")
    tokens = []
    for i, t in enumerate(toks, start=1):
        if not isinstance(t, dict) or not isinstance(t.get("text"), str):
            raise ValueError(f"token {i} has no 'text' (a string)")
        tokens.append((t["text"], bool(t.get("ws", True))))
    raw = []
    for s in _list(record, "spans"):
        if isinstance(s, dict) and "token_start" in s and "token_end" in s:
            try:
                start, end = toks[s["token_start"]]["start"], toks[s["token_end"]]["end"]
            except (IndexError, KeyError, TypeError):
                raise ValueError(
                    f"span token ids {s.get('token_start')}-{s.get('token_end')} are not tokens of the record") from None
            raw.append((start, end, s.get("label"), s.get("text")))
        else:
            raw.append(_offsets(s))
    return record.get("text"), raw, tokens


def parse_record(record: Any) -> tuple[str, Spans, Optional[list[tuple[str, bool]]], bool]:
    """(text, spans, tokens or None, keep) for a record of any supported flavour; raises ValueError."""
    tokens, keep = None, True
    if _is_v2_tuple(record):
        text, raw = record[0], [_offsets(x) for x in _list(record[1], "entities")]
    elif not isinstance(record, dict):
        raise ValueError(f"a record must be a JSON object, found {_json_type(record)}")
    elif "doc_text" in record:
        text, raw = record["doc_text"], [_offsets(x) for x in _list(record, "entities")]
    elif "annotations" in record or "completions" in record:
        text, raw = _label_studio(record)
    elif "tokens" in record and "spans" in record:
        keep = record.get("answer", "accept") == "accept"
        text, raw, tokens = _prodigy(record)
    elif "text" in record:
        text = record["text"]
        key = next((k for k in ("spans", "entities", "label", "labels") if k in record), None)
        raw = [_offsets(x) for x in (_list(record, key) if key else [])]
    else:
        raise ValueError(f"no text field among the keys {sorted(record)}")
    if not isinstance(text, str):
        raise ValueError("the record has no text (a string)")
    spans: Spans = []
    for start, end, label, covered in raw:
        # type(...) is int: a bool is an int to Python, not an offset
        if type(start) is not int or type(end) is not int or not isinstance(label, str) or not label:
            raise ValueError(f"span {[start, end, label]} needs integer start and end and a label")
        spans.append((start, end, label, covered if isinstance(covered, str) else None))
    return text, spans, tokens, keep


def check_spans(text: str, spans: Spans, path: Path | str, where: Where, options: ReadOptions) -> Spans:
    """Sort and validate spans: in range, matching their stated text, known labels, no overlaps.
    Whitespace at a span's edges is trimmed (annotation tools often include it; it is never part of a token)."""
    unique = sorted({_trim(text, span, path, where) for span in spans}, key=lambda s: (s[0], s[1]))
    for start, end, label, covered in unique:
        if not 0 <= start < end <= len(text):
            raise CorpusError(path, where,
                f"span [{start}, {end}) {label} is out of range for a text of {len(text)} characters",
                "fix the offsets (0 <= start < end <= length of the text)")
        if covered is not None and text[start:end] != covered:
            raise CorpusError(path, where,
                f"span [{start}, {end}) {label} covers {text[start:end]!r} but says {covered!r}",
                "the offsets are shifted: fix them or the text")
        check_label(label, options, path, where)
    for a, b in zip(unique, unique[1:]):
        if b[0] < a[1]:
            raise CorpusError(path, where,
                f"spans overlap: {a[2]} {context(text, a[0], a[1])} and {b[2]} {context(text, b[0], b[1])}",
                "keep one of them (spaCy's NER needs non-overlapping entities)")
    return unique


def _trim(text: str, span: tuple[int, int, str, Optional[str]], path: Path | str,
        where: Where) -> tuple[int, int, str, Optional[str]]:
    """The span without whitespace at its edges; a span of only whitespace is an error."""
    start, end, label, covered = span
    if not 0 <= start < end <= len(text) or (covered is not None and text[start:end] != covered):
        return span  # reported by check_spans, as out of range or shifted
    piece = text[start:end]
    if not piece.strip():
        raise CorpusError(path, where, f"span [{start}, {end}) {label} covers only whitespace",
            "remove it or fix its offsets")
    start, end = end - len(piece.lstrip()), start + len(piece.rstrip())
    return start, end, label, None if covered is None else text[start:end]


def record_to_doc(nlp: Language, text: str, spans: Spans, tokens: Optional[list[tuple[str, bool]]], path: Path | str,
        where: Where, options: ReadOptions) -> Doc:
    """Tokenize (or take the record's tokens) and align the character spans to tokens."""
    if tokens is not None:
        doc = Doc(nlp.vocab, words=[t for t, _ in tokens], spaces=[ws for _, ws in tokens])
        if doc.text != text:
            raise CorpusError(path, where, "the record's tokens do not spell its text", "export the record again")
    else:
        check_length(nlp, text, path, where)
        doc = split_at_boundaries(nlp, text, spans) if options.alignment_mode == "split" else nlp.make_doc(text)
    mode = "strict" if options.alignment_mode == "split" else options.alignment_mode
    ents = []
    for start, end, label, _ in spans:
        span = doc.char_span(start, end, label=label, alignment_mode=mode)
        if span is None or not len(span):
            raise CorpusError(path, where,
                f"span [{start}, {end}) {label} {context(text, start, end)} does not align to token boundaries",
                "fix the offsets, or pass --vars.alignment_mode split (cut tokens at span boundaries) or expand/contract")
        ents.append(span)
    for a, b in zip(ents, ents[1:]):
        if b.start < a.end:
            raise CorpusError(path, where, f"spans {a.text!r} and {b.text!r} overlap once snapped to tokens",
                "fix the offsets or use --vars.alignment_mode strict")
    doc.ents = ents
    return doc


def split_at_boundaries(nlp: Language, text: str, spans: Spans) -> Doc:
    """Tokenize so that every span boundary is a token boundary: each stretch between boundaries is tokenized
    on its own. The gold tokens then differ from the tokenizer's only where an entity ends inside a token
    ("DCC-"), and spaCy's training alignment leaves those few tokens' entity tags missing instead of wrong."""
    cuts = sorted({0, len(text), *(b for s, e, _, _ in spans for b in (s, e))})
    words: list[str] = []
    spaces: list[bool] = []
    for lo, hi in zip(cuts, cuts[1:]):
        for token in nlp.make_doc(text[lo:hi]):
            if token.text == " " and words and not spaces[-1]:
                spaces[-1] = True  # a single leading space of a stretch is the previous token's whitespace
                continue
            words.append(token.text)
            spaces.append(bool(token.whitespace_))
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    assert doc.text == text, "splitting at span boundaries must keep the text"
    return doc


def read_docs(path: Path | str, nlp: Language, options: ReadOptions = ReadOptions()) -> Iterator[Doc]:
    """Yield one Doc per accepted record, with entities and sentence boundaries that never cut an entity."""
    found = 0
    for where, raw, record in iter_records(path, options):
        found += 1
        try:
            try:
                text, spans, tokens, keep = parse_record(record)
            except ValueError as e:
                raise CorpusError(path, where, str(e), "see the README for the JSON flavours this reads") from None
            if not keep:
                continue
            spans = check_spans(text, spans, path, where, options)
            doc = record_to_doc(nlp, text, spans, tokens, path, where, options)
        except CorpusError as e:
            options.on_error(e, raw)
            continue
        yield segment(doc, options)
    if found == 0:
        raise CorpusError(path, 1, "no records found", "the file holds no JSON records")


def segment(doc: Doc, options: ReadOptions) -> Doc:
    """Set sentence boundaries with options.segmenter, never inside an entity."""
    if options.segmenter is None or not len(doc):
        return doc
    doc = options.segmenter(doc)
    for ent in doc.ents:
        for token in ent[1:]:
            token.is_sent_start = False
    return doc
