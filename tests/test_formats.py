"""Readers of every format: fixtures per format and per error, plus round-trips of random span sets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import conllu_line, sentences
from pt_pipelines.readers import ReadOptions
from pt_pipelines.readers.formats import detect_format, read
from pt_pipelines.readers.tags import analyse_scheme, spans_to_tags, tags_to_spans
from pt_pipelines.textio import CorpusError
from scripts.convert import convert

NLP = spacy.blank("pt")


def ents(doc):
    return [(e.text, e.label_) for e in doc.ents]


def read_all(path, fmt="auto", **options):
    return read(path, fmt, NLP, ReadOptions(**options)).docs


# ---- CoNLL / IOB columns -------------------------------------------------------------------------------------------

LENER = "O\tO\nSupremo B-ORGANIZACAO\nTribunal I-ORGANIZACAO\nFederal I-ORGANIZACAO\njulgou O\n. O\n\nJoão B-PESSOA\nfalou O\n"


def test_two_column_space_separated_keeps_label_names(write):
    (doc,) = read_all(write("lener.conll", LENER.replace("O\tO\n", "")))
    assert ents(doc) == [("Supremo Tribunal Federal", "ORGANIZACAO"), ("João", "PESSOA")]
    assert [s.text for s in doc.sents] == ["Supremo Tribunal Federal julgou .", "João falou"]


def test_conll2003_four_columns_docstart_and_tabs(write):
    text = "-DOCSTART- -X- -X- O\n\nAna\tNNP\tB-NP\tB-PER\nmora\tVB\tB-VP\tO\n\n-DOCSTART- -X- -X- O\n\nPorto\tNNP\tB-NP\tB-LOC\n"
    docs = read_all(write("c.iob", text))
    assert [ents(d) for d in docs] == [[("Ana", "PER")], [("Porto", "LOC")]]


@pytest.mark.parametrize(
    "tags, scheme, expected",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], "iob2", [(0, 2, "PER"), (3, 4, "LOC")]),
        (["I-PER", "I-PER", "B-PER", "O"], "iob1", [(0, 2, "PER"), (2, 3, "PER")]),
        (["B-PER", "L-PER", "U-LOC", "O"], "biluo", [(0, 2, "PER"), (2, 3, "LOC")]),
        (["B-PER", "E-PER", "S-LOC", "O"], "biluo", [(0, 2, "PER"), (2, 3, "LOC")]),
        (["I-PER", "I-PER", "O", "I-LOC"], "io", [(0, 2, "PER"), (3, 4, "LOC")]),
    ],
)
def test_tag_schemes_are_detected_and_decoded(tags, scheme, expected):
    assert analyse_scheme([tags]) == (scheme, [])
    assert tags_to_spans(tags, scheme) == expected


def test_iob2_inside_after_outside_fails_unless_repaired(write):
    path = write("bad.conll", "Ana O\nSilva I-PER\nmora O\n")
    with pytest.raises(CorpusError, match=r"bad.conll:2: I-PER follows O \(IOB2 opens every entity with B-\)"):
        read_all(path, tag_scheme="iob2")
    (doc,) = read_all(path, tag_scheme="iob2", repair_tags=True)
    assert ents(doc) == [("Silva", "PER")]


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("Ana B-PER\nSilva I-PER x\n", 2, "3 columns where the file's first token line has 2"),
        ("Ana B-PER\nSilva X-PER\n", 2, "malformed entity tag 'X-PER'"),
        ("Ana B-PER\nSilva L-PER\n\nmora L-PER\n", 4, "L-PER does not continue an entity"),
    ],
)
def test_iob_errors_are_located(write, text, line, message):
    path = write("e.iob", text)
    with pytest.raises(CorpusError) as err:
        read_all(path, fmt="iob", tag_scheme="biluo" if "L-" in text else "auto")
    assert str(err.value).startswith(f"{path}:{line}: ") and message in str(err.value)


# ---- span JSON / JSONL -----------------------------------------------------------------------------------------------

TEXT = "Ana Silva mora em Lisboa."
SPANS = [(0, 9, "PER"), (18, 24, "LOC")]
EXPECTED = [("Ana Silva", "PER"), ("Lisboa", "LOC")]


def as_spacy(text, spans):
    return {"text": text, "spans": [{"start": s, "end": e, "label": lab} for s, e, lab in spans]}


def as_doccano(text, spans):
    return {"text": text, "label": [[s, e, lab] for s, e, lab in spans]}


def as_doccano_entities(text, spans):
    return {
        "text": text,
        "entities": [
            {"id": i, "start_offset": s, "end_offset": e, "label": lab} for i, (s, e, lab) in enumerate(spans)
        ],
    }


def as_label_studio(text, spans):
    result = [
        {
            "value": {"start": s, "end": e, "text": text[s:e], "labels": [lab]},
            "type": "labels",
            "from_name": "label",
            "to_name": "text",
        }
        for s, e, lab in spans
    ]
    return {"id": 1, "data": {"text": text}, "annotations": [{"was_cancelled": False, "result": result}]}


def as_prodigy(text, spans):
    doc = NLP.make_doc(text)
    tokens = [
        {"text": t.text, "start": t.idx, "end": t.idx + len(t), "id": t.i, "ws": bool(t.whitespace_)} for t in doc
    ]
    out = []
    for s, e, lab in spans:
        span = doc.char_span(s, e)
        out.append({"start": s, "end": e, "token_start": span.start, "token_end": span.end - 1, "label": lab})
    return {"text": text, "tokens": tokens, "spans": out, "answer": "accept"}


def as_harem(text, spans):
    """As neuralmind-ai/portuguese-bert distributes HAREM (offsets named start_offset/end_offset)."""
    entities = [
        {"entity_id": str(i), "text": text[s:e], "label": lab, "start_offset": s, "end_offset": e}
        for i, (s, e, lab) in enumerate(spans)
    ]
    return {"doc_id": "d1", "doc_text": text, "entities": entities}


FLAVOURS = [as_spacy, as_doccano, as_doccano_entities, as_label_studio, as_prodigy, as_harem]


@pytest.mark.parametrize("flavour", FLAVOURS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("ext", ["jsonl", "json"])
def test_json_flavours(write, flavour, ext):
    record = flavour(TEXT, SPANS)
    text = json.dumps(record) + "\n" if ext == "jsonl" else json.dumps([record, record])
    docs = read_all(write(f"data.{ext}", text))
    assert [ents(d) for d in docs] == [EXPECTED] * len(docs)


def test_spacy_v2_training_tuples_and_entities_key(write):
    data = [[TEXT, {"entities": [list(s) for s in SPANS]}]]
    assert [ents(d) for d in read_all(write("v2.json", json.dumps(data)))] == [EXPECTED]
    record = {"text": TEXT, "entities": [{"start": s, "end": e, "label": lab} for s, e, lab in SPANS]}
    assert [ents(d) for d in read_all(write("e.jsonl", json.dumps(record)))] == [EXPECTED]


def test_prodigy_rejected_answers_are_left_out(write):
    accepted, rejected = as_prodigy(TEXT, SPANS), dict(as_prodigy(TEXT, SPANS), answer="reject")
    assert len(read_all(write("p.jsonl", json.dumps(accepted) + "\n" + json.dumps(rejected) + "\n"))) == 1


def test_long_document_is_split_into_sentences_without_cutting_an_entity(write):
    text = "O Dr. Silva chegou. Depois visitou o Museu Nac. de Arte. Fim."
    start = text.index("Museu")
    record = as_harem(text, [(start, start + len("Museu Nac. de Arte"), "LOCAL")])
    record["entities"][0] = {
        "start": start,
        "end": start + len("Museu Nac. de Arte"),
        "label": "LOCAL",
    }  # start/end too
    (doc,) = read_all(write("harem.json", json.dumps([record])))
    assert ents(doc) == [("Museu Nac. de Arte", "LOCAL")]
    ent = doc.ents[0]
    assert all(not t.is_sent_start for t in ent[1:])
    assert len(list(doc.sents)) >= 3


@pytest.mark.parametrize(
    "spans, message",
    [
        (
            [(0, 9, "PER"), (4, 14, "LOC")],
            "spans overlap: PER «[Ana Silva] mora em Lisboa.» and LOC «Ana [Silva mora] em Lisboa.»",
        ),
        ([(18, 40, "LOC")], "span [18, 40) LOC is out of range for a text of 25 characters"),
        ([(1, 9, "PER")], "span [1, 9) PER «A[na Silva] mora em Lisboa.» does not align to token boundaries"),
        ([(0, "9", "PER")], "needs integer start and end and a label"),
    ],
)
def test_span_errors_name_record_and_text(write, spans, message):
    path = write("bad.jsonl", json.dumps({"text": TEXT, "label": [list(s) for s in spans]}) + "\n")
    with pytest.raises(CorpusError) as err:
        read_all(path)
    assert str(err.value).startswith(f"{path}:1: ") and message in str(err.value)


def test_alignment_mode_expand_snaps_spans_to_tokens(write):
    path = write("a.jsonl", json.dumps(as_doccano(TEXT, [(1, 9, "PER")])) + "\n")
    assert [ents(d) for d in read_all(path, alignment_mode="expand")] == [[("Ana Silva", "PER")]]
    assert [ents(d) for d in read_all(path, alignment_mode="contract")] == [[("Silva", "PER")]]
    (doc,) = read_all(path, alignment_mode="split")
    assert ents(doc) == [("na Silva", "PER")] and doc.text == TEXT and [t.text for t in doc][:3] == ["A", "na", "Silva"]
    padded = write("p.jsonl", json.dumps(as_doccano(TEXT, [(0, 10, "PER")])) + "\n")
    assert [ents(d) for d in read_all(padded)] == [[("Ana Silva", "PER")]], "edge whitespace is trimmed"
    hyphen = "O DCC- Departamento de Cultura"
    (doc,) = read_all(write("h.jsonl", json.dumps(as_doccano(hyphen, [(2, 5, "ORG")])) + "\n"), alignment_mode="split")
    assert ents(doc) == [("DCC", "ORG")] and doc.text == hyphen


def test_shifted_offsets_and_unknown_labels(write):
    shifted = as_harem(TEXT, SPANS)
    shifted["entities"][0]["text"] = "Ana Silv"
    with pytest.raises(CorpusError, match=r"\(record 1\): span \[0, 9\) PER covers 'Ana Silva' but says 'Ana Silv'"):
        read_all(write("h.json", json.dumps([shifted])))
    with pytest.raises(CorpusError, match=r"unknown label 'LOC' \(known: ORG, PER\).*--vars.labels"):
        read_all(write("l.jsonl", json.dumps(as_spacy(TEXT, SPANS))), labels=frozenset({"PER", "ORG"}))


def test_bad_json_empty_files_and_encoding(write):
    with pytest.raises(CorpusError, match=r"x.jsonl:2: invalid JSON"):
        read_all(write("x.jsonl", json.dumps(as_spacy(TEXT, SPANS)) + "\n{oops\n"))
    with pytest.raises(CorpusError, match=r"y.json:1: the file is empty"):
        read_all(write("y.json", "  \n"))
    with pytest.raises(CorpusError, match=r"z.jsonl:1: not valid UTF-8"):
        read_all(write("z.jsonl", json.dumps({"text": "ação"}, ensure_ascii=False), encoding="latin-1"))
    with pytest.raises(CorpusError, match=r"no text field"):
        read_all(write("n.jsonl", json.dumps({"body": TEXT})))
    bom_crlf = write("b.jsonl", "\ufeff" + json.dumps(as_spacy(TEXT, SPANS)) + "\r\n")
    assert [ents(d) for d in read_all(bom_crlf)] == [EXPECTED]


# ---- plain text ------------------------------------------------------------------------------------------------------


def test_plain_text_lines_or_blocks(write):
    assert [d.text for d in read_all(write("l.txt", "Primeiro texto.\nSegundo texto.\n"))] == [
        "Primeiro texto.",
        "Segundo texto.",
    ]
    docs = read_all(write("b.txt", "Um parágrafo\nem duas linhas.\n\nOutro.\n"))
    assert [d.text for d in docs] == ["Um parágrafo em duas linhas.", "Outro."]
    assert not docs[0].has_annotation("ENT_IOB")


def test_format_detection_by_content(write):
    assert detect_format(write("a.conll", sentences(2))) == "conllu"
    assert detect_format(write("b.conll", LENER)) == "iob"
    assert detect_format(write("c.txt", "Um texto qualquer.\n")) == "text"
    assert detect_format(write("d.data", json.dumps(as_spacy(TEXT, SPANS)))) == "json"


def test_an_iob_extension_is_read_as_iob_even_when_the_columns_vary(write):
    # one of the 4 token lines has 3 columns, so by content this reads as text; the extension says IOB, so the
    # bad line is located instead
    path = write("mixed.iob", "Ana B-PER\nmora O\n\nem\tO\tX\nLisboa I-LOC\n")
    assert detect_format(path) == "iob"
    with pytest.raises(CorpusError, match=r"mixed\.iob:4: 3 columns where the file's first token line has 2"):
        read(path, "auto", spacy.blank("pt"))


# ---- skipping bad records, leakage, stats ----------------------------------------------------------------------------


def test_skip_bad_writes_rejects_and_counts_them(write, tmp_path):
    good = [json.dumps(as_spacy(f"{TEXT} {i}", SPANS)) for i in range(20)]
    bad = json.dumps(as_doccano(TEXT, [(1, 9, "PER")]))
    path = write("d.jsonl", "\n".join(good[:10] + [bad] + good[10:]) + "\n")
    with pytest.raises(CorpusError):
        convert(path, path, path, tmp_path / "out")
    stats = convert(path, path, path, tmp_path / "out", skip_bad=True)
    assert stats["skipped_records"] == {"train": 1}
    (reject,) = [json.loads(line) for line in (tmp_path / "out/rejects.jsonl").read_text().splitlines()]
    assert reject["where"] == 11 and reject["record"] == bad and "does not align" in reject["error"]
    assert sum(s["documents"] for s in stats["splits"].values()) == 20


def test_cli_flags_and_leakage_warning(write, tmp_path):
    train = write("train.conll", "Ana B-PER\nmora O\naqui O\n\nRui B-PER\nfoi O\n")
    dev = write("dev.conll", "Ana B-PER\nmora O\naqui O\n")
    test = write("test.conll", "Silva I-PER\nmora O\n")
    cmd = [
        sys.executable,
        "-m", "scripts.convert",
        "--train",
        str(train),
        "--dev",
        str(dev),
        "--test",
        str(test),
        "--output-dir",
        str(tmp_path / "out"),
        "--n-sents",
        "1",
        "--tag-scheme",
        "iob2",
    ]
    failed = subprocess.run(cmd, capture_output=True, text=True)
    assert failed.returncode == 1 and f"{test}:1: I-PER follows the sentence start" in failed.stderr
    repaired = subprocess.run([*cmd, "--repair-tags=true"], capture_output=True, text=True)
    assert repaired.returncode == 0, repaired.stderr
    assert "⚠ 100% of dev sentences (1 of 1) also occur in train" in repaired.stdout
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    assert stats["duplicates"] == {"train/dev": 1, "train/test": 0, "dev/test": 0}
    assert stats["splits"]["test"]["entities_per_label"] == {"PER": 1}
    wrong = subprocess.run([*cmd, "--skip-bad=maybe"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "Invalid value for '--skip-bad'" in wrong.stderr and "'maybe'" in wrong.stderr


# ---- round trips of random span sets ---------------------------------------------------------------------------------

LABELS = ["PER", "ORG", "LOC", "MISC", "PESSOA"]


@st.composite
def annotated(draw, gap: bool = False):
    """Random words and non-overlapping token spans (with a gap between spans when `gap`)."""
    words = draw(st.lists(st.text("abcdefghij", min_size=1, max_size=5), min_size=1, max_size=12))
    spans, i = [], 0
    while i < len(words):
        if draw(st.booleans()):
            end = draw(st.integers(i + 1, min(len(words), i + 3)))
            spans.append((i, end, draw(st.sampled_from(LABELS))))
            i = end + (1 if gap else 0)
        else:
            i += 1
    return words, spans


def char_spans(words, spans):
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    return " ".join(words), [(starts[s], starts[e - 1] + len(words[e - 1]), lab) for s, e, lab in spans]


def token_spans(doc):
    return [(e.start, e.end, e.label_) for e in doc.ents]


ROUND_TRIP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@ROUND_TRIP
@given(data=annotated(), scheme=st.sampled_from(["iob1", "iob2", "biluo"]))
def test_iob_round_trip(write, data, scheme):
    words, spans = data
    tags = spans_to_tags(spans, len(words), scheme)
    path = write("rt.iob", "".join(f"{w}\t{t}\n" for w, t in zip(words, tags)))
    (doc,) = read_all(path, tag_scheme=scheme)
    assert token_spans(doc) == spans


@ROUND_TRIP
@given(data=annotated(gap=True))
def test_io_round_trip(write, data):
    words, spans = data
    path = write("rt.iob", "".join(f"{w} {t}\n" for w, t in zip(words, spans_to_tags(spans, len(words), "io"))))
    (doc,) = read_all(path, tag_scheme="io")
    assert token_spans(doc) == spans


@ROUND_TRIP
@given(data=annotated(), scheme=st.sampled_from(["iob2", "biluo"]))
def test_conllu_round_trip(write, data, scheme):
    words, spans = data
    tags = spans_to_tags(spans, len(words), scheme)
    lines = [
        conllu_line(
            i + 1, w, head=0 if i == 0 else 1, deprel="root" if i == 0 else "dep", misc=f"NE={t}" if t != "O" else "_"
        )
        for i, (w, t) in enumerate(zip(words, tags))
    ]
    (doc,) = read_all(write("rt.conllu", "\n".join(lines) + "\n\n"), tag_scheme=scheme)
    assert token_spans(doc) == spans


@ROUND_TRIP
@given(data=annotated(), flavour=st.sampled_from(FLAVOURS))
def test_json_round_trip(write, data, flavour):
    words, spans = data
    text, chars = char_spans(words, spans)
    (doc,) = read_all(write("rt.jsonl", json.dumps(flavour(text, chars)) + "\n"))
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == chars


BAD_INPUTS = {
    "cycle.conllu": "\n".join(
        [conllu_line(1, "a", head=2, deprel="dep"), conllu_line(2, "b", head=1, deprel="dep"), conllu_line(3, "c")]
    )
    + "\n\n",
    "iob2.conll": "Ana O\nSilva I-PER\n",
    "overlap.jsonl": json.dumps(as_doccano(TEXT, [(0, 9, "PER"), (4, 14, "LOC")])) + "\n",
    "empty.conllu": "\n",
    "latin1.txt": "ação\n",
    "label.conllu": conllu_line(1, "Ana", misc="NE=B-PESSOA") + "\n\n",
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_every_bad_input_exits_nonzero_with_a_located_message(write, tmp_path, name):
    path = write(name, BAD_INPUTS[name], encoding="latin-1" if "latin1" in name else "utf8")
    before = path.read_bytes()
    result = subprocess.run(
        [
            sys.executable,
            "-m", "scripts.convert",
            "--train",
            str(path),
            "--output-dir",
            str(tmp_path / "out"),
            "--tag-scheme",
            "iob2",
            "--labels",
            "PER,LOC",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"✘ {path}:") and result.stderr.count(": ") >= 2, result.stderr
    assert path.read_bytes() == before, "inputs are never modified"
    assert not (tmp_path / "out" / "train.spacy").exists()


def test_trained_pipeline_as_sentence_splitter(tmp_path, write):
    from pt_pipelines.readers.formats import make_segmenter

    nlp = spacy.blank("pt")
    nlp.add_pipe("senter")
    nlp.initialize()
    nlp.to_disk(tmp_path / "senter-model")
    record = as_harem("Ana Silva mora em Lisboa. Rui mora no Porto.", SPANS)
    opts = ReadOptions(segmenter=make_segmenter(str(tmp_path / "senter-model"), "pt"))
    (doc,) = read(write("h.json", json.dumps([record])), "json", NLP, opts).docs
    assert doc.has_annotation("SENT_START") and ents(doc) == EXPECTED
    assert all(not t.is_sent_start for e in doc.ents for t in e[1:])
    with pytest.raises(CorpusError, match="neither a senter nor a parser"):
        spacy.blank("pt").to_disk(tmp_path / "blank")
        make_segmenter(str(tmp_path / "blank"), "pt")


def test_whitespace_only_span_and_unclosed_biluo_entity_are_errors(write):
    with pytest.raises(CorpusError, match=r"span \[1, 2\) X covers only whitespace"):
        read_all(write("w.jsonl", json.dumps(as_doccano("a  b", [(1, 2, "X")])) + "\n"))
    with pytest.raises(CorpusError, match=r"u.iob:2: entity PER opened by B- is not closed at the end"):
        read_all(write("u.iob", "Ana B-PER\nSilva I-PER\n"), tag_scheme="biluo")
    padded = as_doccano("Ana  Silva", [(0, 4, "PER"), (4, 10, "PER")])
    (doc,) = read_all(write("t.jsonl", json.dumps(padded) + "\n"))
    assert ents(doc) == [("Ana", "PER"), ("Silva", "PER")], "trimmed before the overlap check"
