"""CoNLL-U reading: validation errors with locations, multiword tokens, NER from MISC."""

from __future__ import annotations

import pytest
import spacy
from spacy.training.converters.conllu_to_docs import conllu_to_docs

from conftest import ANA_SENTENCE, conllu_line
from pt_pipelines.readers import ReadOptions
from pt_pipelines.readers.conllu import read_conllu, read_docs
from pt_pipelines.textio import CorpusError


@pytest.fixture(scope="module")
def vocab():
    return spacy.blank("pt").vocab


def token_rows(doc):
    return [
        (t.text, t.whitespace_, t.pos_, t.tag_, t.lemma_, str(t.morph), t.dep_, t.head.i, t.ent_iob_, t.ent_type_)
        for t in doc
    ]


def test_multiword_tokens_merge_like_spacy_convert(write, vocab):
    path = write("a.conllu", ANA_SENTENCE + "\n\n")
    ours = list(read_docs(path, vocab))
    theirs = list(conllu_to_docs(path.read_text(), merge_subtokens=True, no_print=True))
    assert len(ours) == len(theirs) == 1
    assert token_rows(ours[0]) == token_rows(theirs[0])
    no = ours[0][2]
    assert (no.text, no.pos_, no.lemma_, no.dep_, no.head.text) == ("no", "ADP", "em o", "case", "Porto")
    assert [(e.text, e.label_) for e in ours[0].ents] == [("Ana", "PER"), ("Porto", "LOC")]
    assert ours[0].text == "Ana mora no Porto. "


def test_multiword_tokens_can_stay_split(write, vocab):
    doc = next(read_docs(write("a.conllu", ANA_SENTENCE + "\n\n"), vocab, ReadOptions(merge_multiword=False)))
    assert [t.text for t in doc] == ["Ana", "mora", "em", "o", "Porto", "."]
    assert doc[2].whitespace_ == ""


def test_no_ne_tags_means_ner_missing_not_empty(write, vocab):
    text = "\n".join(
        [conllu_line(1, "Chove", "chover", "VERB", "_", 0, "root"), conllu_line(2, ".", ".", "PUNCT", "_", 1, "punct")]
    )
    doc = next(read_docs(write("a.conllu", text + "\n\n"), vocab))
    assert not doc.has_annotation("ENT_IOB")


def test_newdoc_groups_documents_else_n_sents(write, vocab):
    from conftest import sentences

    assert len(list(read_docs(write("a.conllu", sentences(25)), vocab, ReadOptions(n_sents=10)))) == 3
    with_newdoc = "# newdoc id = a\n" + sentences(3) + "# newdoc id = b\n" + sentences(2, start=3)
    docs = list(read_docs(write("b.conllu", with_newdoc), vocab, ReadOptions(n_sents=10)))
    assert [len(list(d.sents)) for d in docs] == [3, 2]


def test_bom_crlf_comments_and_empty_nodes_are_accepted(write, vocab):
    text = ANA_SENTENCE.replace("\n6\t", "\n5.1\tx\tx\tX\t_\t_\t_\t_\t2:dep\t_\n6\t")
    path = write("a.conllu", "\ufeff" + text.replace("\n", "\r\n") + "\r\n\r\n")
    doc = next(read_docs(path, vocab))
    assert [t.text for t in doc] == ["Ana", "mora", "no", "Porto", "."]


@pytest.mark.parametrize(
    "bad_line, line_no, message",
    [
        ("1\tCasa\tcasa\tNOUN\t_\t_\t0\troot", 2, "expected 10 tab-separated columns, found 8"),
        ("1 Casa casa NOUN _ _ 0 root _ _", 2, "columns look space-separated"),
        (conllu_line(1, "Casa", head="x"), 2, "HEAD 'x' is not an integer"),
        (conllu_line("one", "Casa"), 2, "word ID 'one' is not an integer"),
        (conllu_line(2, "Casa"), 2, "word ID 2 out of order (expected 1)"),
    ],
)
def test_malformed_lines_are_located(write, bad_line, line_no, message):
    path = write("bad.conllu", f"# sent_id = 1\n{bad_line}\n\n")
    with pytest.raises(CorpusError) as err:
        list(read_conllu(path))
    assert str(err.value).startswith(f"{path}:{line_no}: ")
    assert message in str(err.value)


def test_several_roots_cycle_and_range_errors(write):
    two_roots = "\n".join([conllu_line(1, "a"), conllu_line(2, "b")])
    with pytest.raises(CorpusError, match=r":2: sentence has 2 roots"):
        list(read_conllu(write("r.conllu", two_roots + "\n\n")))
    cycle = "\n".join(
        [
            conllu_line(1, "a", head=0),
            conllu_line(2, "b", head=3, deprel="dep"),
            conllu_line(3, "c", head=2, deprel="dep"),
        ]
    )
    with pytest.raises(CorpusError, match=r"cycle of heads"):
        list(read_conllu(write("c.conllu", cycle + "\n\n")))
    out_of_range = "\n".join([conllu_line(1, "a", head=0), conllu_line(2, "b", head=7, deprel="dep")])
    with pytest.raises(CorpusError, match=r":2: HEAD 7 of word 2 is not another word"):
        list(read_conllu(write("h.conllu", out_of_range + "\n\n")))
    bad_range = "1-3\tab\t_\t_\t_\t_\t_\t_\t_\t_\n" + "\n".join(
        [conllu_line(1, "a", head=0), conllu_line(2, "b", head=1)]
    )
    with pytest.raises(CorpusError, match=r":1: multiword token 1-3 ends after the last word"):
        list(read_conllu(write("m.conllu", bad_range + "\n\n")))


def test_empty_file_and_bad_encoding(write):
    with pytest.raises(CorpusError, match="no sentences found"):
        list(read_conllu(write("empty.conllu", "\n\n")))
    latin1 = write("latin.conllu", conllu_line(1, "ação") + "\n\n", encoding="latin-1")
    with pytest.raises(CorpusError, match=r"latin.conllu:1: not valid UTF-8.*save the file as UTF-8"):
        list(read_conllu(latin1))


def test_inside_tag_without_begin_is_an_error(write, vocab):
    text = "\n".join([conllu_line(1, "Ana", head=0, misc="NE=I-PER"), conllu_line(2, "x", head=1, deprel="dep")])
    with pytest.raises(CorpusError, match=r"i.conllu:1: I-PER follows the sentence start \(IOB2 opens"):
        list(read_docs(write("i.conllu", text + "\n\n"), vocab, ReadOptions(tag_scheme="iob2")))
    doc = next(read_docs(write("i.conllu", text + "\n\n"), vocab, ReadOptions(tag_scheme="iob2", repair_tags=True)))
    assert [(e.text, e.label_) for e in doc.ents] == [("Ana", "PER")]


def test_rejected_sentence_keeps_its_document_boundary_and_entity_errors_reject_one_sentence(write, vocab):
    rejects = []
    opts = ReadOptions(on_error=lambda error, record: rejects.append(error))
    good = conllu_line(1, "Chove", "chover", "VERB", "_", 0, "root")
    bad_columns = "1\tMal\n"
    cut_mwt = "\n".join(
        [
            "1-2\tao\t_\t_\t_\t_\t_\t_\t_\t_",
            conllu_line(1, "a", "a", "ADP", "_", 3, "case"),
            conllu_line(2, "o", "o", "DET", "_", 3, "det", "NE=B-LOC"),
            conllu_line(3, "Porto", head=0, misc="NE=I-LOC"),
        ]
    )
    text = f"# newdoc\n{good}\n\n# newdoc\n{bad_columns}\n{good}\n\n{cut_mwt}\n\n{good}\n\n"
    docs = list(read_docs(write("d.conllu", text), vocab, opts))
    assert [len(list(d.sents)) for d in docs] == [1, 2], "the sentence after the rejected '# newdoc' starts a document"
    assert len(rejects) == 2 and "inside a multiword token" in str(rejects[1])
