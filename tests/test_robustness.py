"""Issue 14, readers and convert: inputs that once ended in a traceback, were accepted silently or gave wrong
results. Each test reproduces one case found by an outside campaign."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import spacy
import weasel.cli.run as weasel_run
from spacy.tokens import DocBin

from conftest import ANA_SENTENCE, GENERATED, ROOT, conllu_line, sentences
from pt_pipelines.readers import ReadOptions
from pt_pipelines.readers.formats import detect_format, read
from pt_pipelines.readers.tags import analyse_scheme, tags_to_spans
from pt_pipelines.textio import CorpusError
from scripts.convert import convert

NLP = spacy.blank("pt")
TEXT = "Ana Silva mora em Lisboa."


def read_all(path, fmt="auto", nlp=NLP, **options):
    return read(path, fmt, nlp, ReadOptions(**options)).docs


def read_skipping(path, fmt="auto", nlp=NLP, **options):
    found = read(path, fmt, nlp, ReadOptions(**options), skip_bad=True)
    return found.docs, [r.error for r in found.rejects]


def cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "scripts.convert", *map(str, args)], capture_output=True, text=True)


# ---- JSON fields of the wrong type -----------------------------------------------------------------------------------

GOOD = {"text": TEXT, "spans": [{"start": 0, "end": 9, "label": "PER"}]}
WRONG_TYPES = {
    "spans-int": ({"text": TEXT, "spans": 5}, "'spans' must be a list"),
    "annotations-null": ({"data": {"text": TEXT}, "annotations": None}, "'annotations' must be a list"),
    "result-item-list": (
        {"data": {"text": TEXT}, "annotations": [{"result": [[0, 9, "PER"]]}]},
        "result item 1 must be an object",
    ),
    "prodigy-token-without-text": (
        {"text": "Ana", "tokens": [{"start": 0, "end": 3}], "spans": []},
        "token 1 has no 'text'",
    ),
    "harem-entities-int": ({"doc_id": "d", "doc_text": TEXT, "entities": 3}, "'entities' must be a list"),
    "span-item-string": ({"text": TEXT, "spans": ["PER"]}, "needs integer start and end and a label"),
    "data-list": ({"data": [TEXT], "annotations": []}, "'data' must be an object"),
    "annotation-not-object": ({"data": {"text": TEXT}, "annotations": [3]}, "annotation 1 must be an object"),
}


@pytest.mark.parametrize("name", WRONG_TYPES)
def test_json_fields_of_the_wrong_type_are_located_errors(write, name):
    record, message = WRONG_TYPES[name]
    path = write("w.jsonl", json.dumps(GOOD) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(CorpusError) as err:
        read_all(path)
    assert str(err.value).startswith(f"{path}:2: ") and message in str(err.value), str(err.value)
    docs, rejects = read_skipping(path)
    assert len(docs) == 1 and [e.where for e in rejects] == [2]


def test_label_studio_result_without_value_is_an_error_and_relations_are_ignored(write):
    result = [
        {"value": {"start": 0, "end": 9, "labels": ["PER"]}, "type": "labels"},
        {"type": "labels", "from_name": "label"},
    ]
    record = {"data": {"text": TEXT}, "annotations": [{"result": result}]}
    with pytest.raises(CorpusError, match=r":1: Label Studio result 2 has no 'value'"):
        read_all(write("ls.jsonl", json.dumps(record) + "\n"))
    result[1] = {"type": "relation", "from_id": "a", "to_id": "b"}
    (doc,) = read_all(write("ls.jsonl", json.dumps(record) + "\n"))
    assert [(e.text, e.label_) for e in doc.ents] == [("Ana Silva", "PER")]


def test_deep_nesting_and_lone_surrogates_are_located(write, tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    path = write("deep.jsonl", json.dumps(GOOD) + "\n" + deep + "\n")
    with pytest.raises(CorpusError, match=r"deep.jsonl:2: JSON nested too deeply"):
        read_all(path)
    assert len(read_skipping(path)[0]) == 1
    with pytest.raises(CorpusError, match=r"deep.json:1: JSON nested too deeply"):
        read_all(write("deep.json", deep))
    surrogate = '{"text": "Ana \\ud800 Silva", "spans": []}'
    path = write("s.jsonl", json.dumps(GOOD) + "\n" + surrogate + "\n" + (json.dumps(GOOD) + "\n") * 4)
    with pytest.raises(CorpusError, match=r"s.jsonl:2: lone surrogate \\ud800"):
        read_all(path)
    stats = convert(path, path, path, tmp_path / "out", skip_bad=True, sentencizer="none")
    assert stats["skipped_records"] == {"train": 1}
    # the reject file is written as UTF-8, surrogates included (as escapes)
    path = write("s.json", "[" + json.dumps(GOOD) + ", " + surrogate + (", " + json.dumps(GOOD)) * 4 + "]")
    convert(path, path, path, tmp_path / "out2", skip_bad=True, sentencizer="none")
    (reject,) = [json.loads(line) for line in (tmp_path / "out2/rejects.jsonl").read_text("utf8").splitlines()]
    assert reject["where"] == "record 2"


def test_text_longer_than_max_length_is_rejected_not_a_crash(write):
    nlp = spacy.blank("pt")
    nlp.max_length = 30
    long = "palavra " * 10
    with pytest.raises(CorpusError, match=r"l.jsonl:2: the text has 80 characters, more than nlp.max_length \(30\)"):
        read_all(write("l.jsonl", json.dumps(GOOD) + "\n" + json.dumps({"text": long}) + "\n"), nlp=nlp)
    with pytest.raises(CorpusError, match=r"l.txt:2: the text has 79 characters, more than nlp.max_length"):
        read_all(write("l.txt", "Curto.\n" + long + "\n"), nlp=nlp)
    docs, rejects = read_skipping(write("l.txt", "Curto.\n" + long + "\n"), nlp=nlp)
    assert [d.text for d in docs] == ["Curto."] and [e.where for e in rejects] == [2]
    # the tokenizer takes quadratic time over a run without spaces (minutes for 100,000 brackets)
    with pytest.raises(CorpusError, match=r"r.txt:2: a run of 100000 characters without whitespace"):
        read_all(write("r.txt", "Curto.\n" + "[" * 100_000 + "\n"))


def test_a_million_character_line_in_convert_is_a_located_error(write, tmp_path):
    path = write("big.txt", "".join(f"Linha {i}.\n" for i in range(30)) + "a " * 500_001 + "\n")
    with pytest.raises(CorpusError, match=r"big.txt:31: the text has 1000001 characters"):
        convert(path, path, path, tmp_path / "out", sentencizer="none")
    stats = convert(path, path, path, tmp_path / "out", sentencizer="none", skip_bad=True)
    assert stats["skipped_records"] == {"train": 1}


# ---- CoNLL-U ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_line, message",
    [
        (conllu_line("²", "Casa"), "word ID '²' is not an integer"),
        (conllu_line(1, "Casa", head="²"), "HEAD '²' is not an integer"),
        ("1-²\tCasa\t_\t_\t_\t_\t_\t_\t_\t_", "bad multiword token ID '1-²'"),
        (conllu_line("abc.def", "Casa"), "word ID 'abc.def' is not an integer"),
        (conllu_line("1.²", "Casa"), "word ID '1.²' is not an integer"),
        (conllu_line(1, ""), "empty FORM"),
        (conllu_line(1, "Casa", feats="Gender=Fem=Masc"), "FEATS 'Gender=Fem=Masc' is not Feature=Value pairs"),
        (conllu_line(1, "Casa", upos="²"), "UPOS '²' is not a Universal Dependencies tag"),
    ],
)
def test_conllu_unicode_digits_odd_ids_and_empty_forms_are_located(write, bad_line, message):
    path = write("u.conllu", f"{sentences(1)}# sent_id = 2\n{bad_line}\n\n")
    with pytest.raises(CorpusError) as err:
        read_all(path)
    assert str(err.value).startswith(f"{path}:5: ") and message in str(err.value), str(err.value)
    docs, rejects = read_skipping(path)
    assert len(docs) == 1 and len(rejects) == 1


def test_overlapping_multiword_ranges_are_an_error(write):
    text = "\n".join(
        [
            "# text = dele a",
            "1-2\tdele\t_\t_\t_\t_\t_\t_\t_\t_",
            conllu_line(1, "de", head=0),
            "2-3\tea\t_\t_\t_\t_\t_\t_\t_\t_",
            conllu_line(2, "ele", head=1, deprel="dep"),
            conllu_line(3, "a", head=1, deprel="dep"),
        ]
    )
    with pytest.raises(CorpusError, match=r"o.conllu:4: multiword token 2-3 overlaps 1-2"):
        read_all(write("o.conllu", text + "\n\n"))


def test_unspecified_lemma_is_missing_not_the_lemma_underscore(write, tmp_path):
    text = "\n".join(
        [
            "# text = Casa _ caiu",
            conllu_line(1, "Casa", "_", "NOUN", "_", 3, "nsubj"),
            conllu_line(2, "_", "_", "SYM", "_", 3, "dep"),
            conllu_line(3, "caiu", "cair", "VERB", "_", 0, "root"),
        ]
    )
    path = write("l.conllu", text + "\n\n" + sentences(20))
    (doc, *_) = read_all(path)
    assert [t.lemma_ for t in doc[:3]] == ["", "_", "cair"], "a real '_' token keeps its lemma '_'"
    stats = convert(path, path, path, tmp_path / "out", dev_ratio=0.2, test_ratio=0.2, options=ReadOptions(n_sents=1))
    missing = {split: s["missing"] for split, s in stats["splits"].items()}
    assert set(missing["train"]) == {"lemma", "pos", "morph", "dep", "ner"}
    total_missing_lemma = sum(stats["splits"][s]["missing"]["lemma"] * stats["splits"][s]["tokens"] for s in missing)
    assert round(total_missing_lemma) == 1
    assert all(m["ner"] == 1.0 and m["dep"] == 0.0 for m in missing.values())


# ---- IOB columns -----------------------------------------------------------------------------------------------------


def test_empty_token_in_a_column_file_is_located(write):
    path = write("e.iob", "Ana\tB-PER\n\tO\n\nRui\tB-PER\n")
    with pytest.raises(CorpusError, match=r"e.iob:2: empty token"):
        read_all(path)
    docs, rejects = read_skipping(path)
    assert [[t.text for t in d] for d in docs] == [["Rui"]] and [e.where for e in rejects] == [2]


BARE_IO = "Maria PESSOA\nSilva PESSOA\nmora O\nem O\nLisboa LOCAL\n. O\n\nRui PESSOA\nfoi O\n"


def test_bare_label_io_is_detected_and_read_as_io(write, tmp_path):
    path = write("bare.conll", BARE_IO)
    assert detect_format(path) == "iob"
    assert analyse_scheme([["PESSOA", "PESSOA", "O", "LOCAL"]])[0] == "io"
    (doc,) = read_all(path)
    assert [(e.text, e.label_) for e in doc.ents] == [("Maria Silva", "PESSOA"), ("Lisboa", "LOCAL"), ("Rui", "PESSOA")]
    path = write("bare.conll", BARE_IO + "\n" + BARE_IO)
    stats = convert(path, path, path, tmp_path / "out", options=ReadOptions(n_sents=1))
    assert stats["tag_schemes"] == {"train": "io"} and sum(s["entities"] for s in stats["splits"].values()) == 6


def test_tagged_column_file_read_as_text_is_an_error(write, tmp_path):
    path = write("bare.txt", BARE_IO)
    with pytest.raises(CorpusError, match=r"bare.txt:1: the file looks tagged .* but was read as text"):
        convert(path, path, path, tmp_path / "out", fmt="text", sentencizer="none")


def test_stray_tag_of_another_scheme_is_an_error_at_its_line(write):
    iob2 = "".join(f"Ana{i} B-PER\nSilva I-PER\nmora O\n\n" for i in range(5))
    path = write("s.iob", iob2 + "Rui I-PER\nfoi O\n")
    with pytest.raises(CorpusError, match=r"s.iob:21: I-PER follows the sentence start"):
        read_all(path)
    with pytest.raises(CorpusError, match=r"s.iob:21: E-PER is a BILUO tag"):
        read_all(write("s.iob", iob2 + "Rui E-PER\nfoi O\n"))
    with pytest.raises(CorpusError, match=r"s.iob:21: bare label 'PER' among prefixed tags"):
        read_all(write("s.iob", iob2 + "Rui PER\nfoi O\n"))
    docs, rejects = read_skipping(write("s.iob", iob2 + "Rui I-PER\nfoi O\n"), n_sents=1)
    assert len(docs) == 5 and [e.where for e in rejects] == [21]
    biluo = "".join(f"Ana{i} B-PER\nSilva L-PER\nmora O\n\n" for i in range(5))
    with pytest.raises(CorpusError, match=r"s.iob:21: B-PER ends an entity in a BILUO file"):
        read_all(write("s.iob", biluo + "Rui B-PER\nfoi O\n"))
    assert tags_to_spans(["PESSOA", "O"], "io") == [(0, 1, "PESSOA")]


def test_auto_scheme_is_printed_and_recorded(write, tmp_path):
    path = write("train.conll", "".join(f"Ana{i} I-PER\nSilva I-PER\nmora O\n\n" for i in range(10)))
    result = cli("--train", path, "--output-dir", tmp_path / "out", "--n-sents", "1")
    assert result.returncode == 0, result.stderr
    assert f"tag scheme: io (detected in {path})" in result.stdout
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    assert stats["tag_schemes"] == {"train": "io"}


# ---- convert ---------------------------------------------------------------------------------------------------------


def test_sentence_level_leakage_is_counted_and_warned(write, tmp_path):
    def doc(sents):
        return "\n".join(f"{w} O" for s in sents for w in s.split()) + "\n"

    train_sents = [f"O gato número {i} dorme na casa ." for i in range(40)]
    test_sents = [f"Um cão número {i} corre no jardim ." for i in range(17)] + train_sents[:3]
    train = write("data/train.iob", "".join(doc([s]) + "\n" for s in train_sents))
    dev = write("data/dev.iob", "".join(doc([f"Frase de dev {i} aqui ."]) + "\n" for i in range(5)))
    # documents of 10 sentences each (no -DOCSTART-): whole-document comparison finds nothing
    test = write("data/test.iob", "".join(doc([s]) + "\n" for s in test_sents))
    result = cli("--train", train, "--dev", dev, "--test", test, "--output-dir", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "⚠ 15% of test sentences (3 of 20) also occur in train" in result.stdout
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    assert stats["leakage"]["test in train"] == {"sentences": 20, "shared": 3, "share": 0.15}
    assert stats["leakage"]["dev in train"]["shared"] == 0


def test_shared_token_prefix_is_warned(write, tmp_path):
    path = write("p.iob", "".join(f"pt:Ana{i} B-PER\npt:mora O\npt:aqui O\n\n" for i in range(20)))
    result = cli("--train", path, "--output-dir", tmp_path / "out", "--n-sents", "1")
    assert result.returncode == 0, result.stderr
    assert "⚠ 100% of train tokens start with 'pt:'" in result.stdout
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    assert stats["token_prefixes"]["train"] == {"prefix": "pt:", "share": 1.0}


def test_split_files_without_extension_are_read_by_content(write, tmp_path):
    write("ud/train", sentences(5))
    write("ud/dev", sentences(2, 10))
    write("ud/test", ANA_SENTENCE + "\n\n")
    stats = convert(tmp_path / "ud", tmp_path / "ud", tmp_path / "ud", tmp_path / "out")
    assert stats["formats"] == {"train": "conllu", "dev": "conllu", "test": "conllu"}
    record = {"text": TEXT, "spans": [{"start": 0, "end": 9, "label": "PER"}]}
    write("js/train", (json.dumps(record) + "\n") * 3)
    write("js/dev", json.dumps(record) + "\n")
    write("js/test", json.dumps(record) + "\n")
    stats = convert(tmp_path / "js", tmp_path / "js", tmp_path / "js", tmp_path / "out2")
    assert stats["splits"]["train"]["entities"] == 3


def test_option_values_spacy_rejects_give_one_line(write, tmp_path):
    path = write("train.conllu", sentences(20))
    result = cli("--train", path, "--output-dir", tmp_path / "out", "--lang", "zz")
    assert result.returncode == 2 and result.stderr.startswith("✘ --lang zz: spaCy has no language 'zz'"), result.stderr
    assert "Traceback" not in result.stderr
    text = write("train.txt", "Uma frase.\nOutra frase.\n" * 10)
    result = cli("--train", text, "--output-dir", tmp_path / "out", "--sentencizer", tmp_path / "nowhere")
    assert result.returncode == 2 and "✘ --sentencizer" in result.stderr and "no such pipeline" in result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    (tmp_path / "notapipeline").mkdir()
    result = cli("--train", text, "--output-dir", tmp_path / "out", "--sentencizer", tmp_path / "notapipeline")
    assert result.returncode == 1 and "not a spaCy pipeline" in result.stderr and "Traceback" not in result.stderr


def test_train_file_path_with_spaces_runs_through_weasel(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*GENERATED, "assets"))
    (project / "my data").mkdir()
    (project / "my data/train.conllu").write_text(sentences(30))
    weasel_run.project_run(project, "convert", overrides={"vars.train_file": "my data/train.conllu"})
    docs = list(DocBin().from_disk(project / "corpus/train.spacy").get_docs(NLP.vocab))
    assert len(docs) == 1 and (project / "corpus/test.spacy").exists()
