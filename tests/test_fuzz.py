"""Property-based fuzzing of every reader: valid inputs of each format, mutated at random, must give clean Docs
or the project's CorpusError, never another exception; with skip-bad too, where rejects must be writable."""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import DocBin

from conftest import ANA_SENTENCE, conllu_line, sentences
from pt_pipelines.readers import ReadOptions
from pt_pipelines.readers.formats import read
from pt_pipelines.textio import CorpusError

NLP = spacy.blank("pt")
SHORT = spacy.blank("pt")
SHORT.max_length = 60  # so that "longer than nlp.max_length" is reached by small inputs
SEGMENTER = spacy.blank("pt").add_pipe("sentencizer")
WORKDIR = Path(tempfile.mkdtemp(prefix="fuzz-"))

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),  # raise it for a longer campaign
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# values that broke readers before: unicode digits, odd IDs, empty fields, tags of every scheme, surrogates
NASTY = st.one_of(
    st.sampled_from(
        [
            "²", "٣", "", " ", "_", "0", "-1", "1-2", "2-3", "1-1", "abc.def", "1.1", "1.²", "B-PER", "I-PER",
            "E-PER", "S-LOC", "L-PER", "U-PER", "X-PER", "PESSOA", "O", "NE=B-PER", "NE=I-LOC", "SpaceAfter=No",
            "#", "# text = x", "a=b=c", "Gender", "Gender=Fem|", "# newdoc", "-DOCSTART-", "[", "{", "null", "\t", "\ud800", "pt:Lisboa", "a\tb",
        ]
    ),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
    st.integers(-3, 40).map(str),
)


# ---- valid inputs ----------------------------------------------------------------------------------------------------

CONLLU = ANA_SENTENCE + "\n\n" + sentences(2) + "# newdoc\n" + "\n".join(
    [conllu_line(1, "Rui", "Rui", "PROPN", "_", 2, "nsubj", "NE=B-PER"), conllu_line(2, "saiu", "sair", "VERB")]
) + "\n\n"
IOB = {
    "iob2": "Ana B-PER\nSilva I-PER\nmora O\nem O\nLisboa B-LOC\n. O\n\nRui B-PER\nsaiu O\n",
    "biluo": "-DOCSTART- -X- O\n\nAna\tNNP\tB-PER\nSilva\tNNP\tL-PER\nmora\tVB\tO\nLisboa\tNNP\tU-LOC\n",
    "iob1": "Ana I-PER\nSilva I-PER\nRui B-PER\nmora O\n\nem O\nLisboa I-LOC\n",
    "io": "Maria PESSOA\nSilva PESSOA\nmora O\nem O\nLisboa LOCAL\n\nRui PESSOA\n",
}
TEXT = "Ana Silva mora em Lisboa."
SPANS = [(0, 9, "PER"), (18, 24, "LOC")]
RECORDS: dict[str, Any] = {
    "spacy": {"text": TEXT, "spans": [{"start": s, "end": e, "label": lab} for s, e, lab in SPANS]},
    "v2": [TEXT, {"entities": [list(s) for s in SPANS]}],
    "doccano": {"text": TEXT, "label": [list(s) for s in SPANS]},
    "doccano_entities": {
        "text": TEXT,
        "entities": [{"id": i, "start_offset": s, "end_offset": e, "label": lab} for i, (s, e, lab) in enumerate(SPANS)],
    },
    "label_studio": {
        "data": {"text": TEXT},
        "annotations": [
            {
                "was_cancelled": False,
                "result": [
                    {"value": {"start": s, "end": e, "text": TEXT[s:e], "labels": [lab]}, "type": "labels"}
                    for s, e, lab in SPANS
                ],
            }
        ],
    },
    "prodigy": {
        "text": TEXT,
        "tokens": [
            {"text": t.text, "start": t.idx, "end": t.idx + len(t), "id": t.i, "ws": bool(t.whitespace_)}
            for t in NLP.make_doc(TEXT)
        ],
        "spans": [
            {"start": 0, "end": 9, "token_start": 0, "token_end": 1, "label": "PER"},
            {"start": 18, "end": 24, "token_start": 4, "token_end": 4, "label": "LOC"},
        ],
        "answer": "accept",
    },
    "harem": {
        "doc_id": "d1",
        "doc_text": TEXT,
        "entities": [
            {"entity_id": str(i), "text": TEXT[s:e], "label": lab, "start_offset": s, "end_offset": e}
            for i, (s, e, lab) in enumerate(SPANS)
        ],
    },
}
PLAIN = "Primeiro texto. Com duas frases.\nSegundo texto.\n\nUm bloco\nem duas linhas.\n"


# ---- mutations -------------------------------------------------------------------------------------------------------


@st.composite
def mutate_lines(draw, text: str) -> bytes:
    """Delete, duplicate, swap, insert or truncate lines, replace a column with nasty text, or add random bytes."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "field", "field", "insert", "truncate", "join"]))
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if not lines:
            lines = [""]
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "field":
            sep = "\t" if "\t" in lines[i] else " "
            cols = lines[i].split(sep)
            cols[draw(st.integers(0, len(cols) - 1))] = draw(NASTY)
            lines[i] = sep.join(cols)
        elif op == "insert":
            lines.insert(i, draw(NASTY))
        elif op == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif op == "join" and i + 1 < len(lines):
            lines[i : i + 2] = [lines[i] + lines[i + 1]]
    data = "\n".join(lines).encode("utf-8", "surrogatepass")  # a raw surrogate is invalid UTF-8 in the file
    if draw(st.booleans()):
        pos = draw(st.integers(0, len(data)))
        data = data[:pos] + draw(st.binary(max_size=4)) + data[pos:]
    return data


JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 40),
    st.floats(allow_nan=False, allow_infinity=False),
    NASTY,
    st.just([]),
    st.just({}),
    st.just([[0, 3, "PER"]]),
    st.just([{"start": 0, "end": 3}]),
    st.just({"text": "x"}),
    st.lists(st.integers(-1, 30), max_size=3),
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _set(value: Any, path: tuple, new: Any, delete: bool = False) -> Any:
    if not path:
        return new
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return value


@st.composite
def mutate_record(draw, record: Any) -> Any:
    """Replace a value anywhere in the record with another JSON type (or nasty text), or delete it."""
    record = json.loads(json.dumps(record))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(record)))
        # a copy: st.just([]) hands out one shared list, which a later mutation would change for every example
        new = copy.deepcopy(draw(JSON_VALUES))
        record = _set(record, path, new, delete=bool(path) and draw(st.booleans()))
    return record


DEEP = "[" * 50_000 + "]" * 50_000


@st.composite
def json_file(draw) -> tuple[str, bytes]:
    names = draw(st.lists(st.sampled_from(sorted(RECORDS)), min_size=1, max_size=4))
    records = [draw(mutate_record(RECORDS[n])) if draw(st.booleans()) else RECORDS[n] for n in names]
    ext = draw(st.sampled_from([".jsonl", ".json", ""]))
    if ext == ".json":
        text = json.dumps(records if len(records) > 1 or draw(st.booleans()) else records[0])
    else:
        text = "\n".join(json.dumps(r) for r in records) + "\n"
    if draw(st.booleans()):
        text = text.replace(draw(st.sampled_from(["Ana", "0", "{", "]", "PER", '"'])), draw(NASTY), 1)
    if draw(st.integers(0, 9)) == 0:
        text = text + DEEP + "\n"
    data = text.encode("utf-8", "surrogatepass")
    return ext, draw(mutate_lines(data.decode("utf-8", "surrogatepass"))) if draw(st.booleans()) else data


OPTIONS = st.fixed_dictionaries(
    {
        "tag_scheme": st.sampled_from(["auto", "auto", "iob1", "iob2", "biluo", "io"]),
        "repair_tags": st.booleans(),
        "alignment_mode": st.sampled_from(["strict", "split", "contract", "expand"]),
        "merge_multiword": st.booleans(),
        "n_sents": st.integers(1, 3),
        "text_unit": st.sampled_from(["auto", "line", "block"]),
    }
)


# ---- the property ----------------------------------------------------------------------------------------------------


def check(name: str, data: bytes, options: dict, short: bool) -> None:
    """Both ways convert reads (stop at the first error, or skip bad records): CorpusError or clean Docs."""
    path = WORKDIR / name
    path.write_bytes(data)
    nlp = SHORT if short else NLP
    for skip in (False, True):
        try:
            found = read(path, "auto", nlp, ReadOptions(**options, segmenter=SEGMENTER), skip_bad=skip)
            docs = found.docs
            rejects = [
                json.dumps({"where": r.error.where, "error": str(r.error), "record": r.record}, ensure_ascii=False)
                for r in found.rejects
            ]
        except CorpusError as e:
            assert str(e).startswith(str(path)), str(e)
            continue
        DocBin(docs=docs, store_user_data=False).to_bytes()
        for doc in docs:
            doc.text.encode("utf-8")
            assert all(0 <= e.start < e.end <= len(doc) for e in doc.ents)
        for line in rejects:
            line.encode("utf-8")  # the reject file is UTF-8


@FUZZ
@given(data=st.data(), options=OPTIONS, short=st.booleans())
def test_conllu_mutations(data, options, short):
    ext = data.draw(st.sampled_from([".conllu", ".conll", ""]))
    check(f"c{ext}", data.draw(mutate_lines(CONLLU)), options, short)


@FUZZ
@given(data=st.data(), options=OPTIONS, short=st.booleans())
def test_iob_mutations(data, options, short):
    text = IOB[data.draw(st.sampled_from(sorted(IOB)))]
    ext = data.draw(st.sampled_from([".iob", ".conll", ".tsv", ""]))
    check(f"i{ext}", data.draw(mutate_lines(text)), options, short)


@FUZZ
@given(data=st.data(), file=json_file(), options=OPTIONS, short=st.booleans())
def test_json_mutations(data, file, options, short):
    ext, content = file
    check(f"j{ext}", content, options, short)


@FUZZ
@given(data=st.data(), options=OPTIONS, short=st.booleans())
def test_text_mutations(data, options, short):
    ext = data.draw(st.sampled_from([".txt", ""]))
    check(f"t{ext}", data.draw(mutate_lines(PLAIN)), options, short)


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_every_json_shape_reads_unmutated(name):
    for ext in (".jsonl", ".json", ""):
        path = WORKDIR / f"ok-{name}{ext}"
        path.write_text(json.dumps(RECORDS[name]) + "\n")
        docs = read(path, "auto", NLP, ReadOptions(segmenter=SEGMENTER)).docs
        assert [(e.text, e.label_) for d in docs for e in d.ents] == [("Ana Silva", "PER"), ("Lisboa", "LOC")]
