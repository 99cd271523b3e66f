"""convert: source resolution, seeded split by document, outputs and stats, CLI errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from conftest import ANA_SENTENCE, ROOT, sentences
from pt_pipelines.errors import ConfigError
from pt_pipelines.readers import ReadOptions
from pt_pipelines.readers.conllu import CorpusError
from scripts.convert import convert, resolve_sources, split_documents


def load(path: Path):
    return list(DocBin().from_disk(path).get_docs(spacy.blank("pt").vocab))


def test_folder_with_ud_names_gives_all_three_splits(write, tmp_path):
    for split in ("train", "dev", "test"):
        write(f"corpus/pt_x-ud-{split}.conllu", sentences(3))
    folder = tmp_path / "corpus"
    sources = resolve_sources(folder, folder, folder)
    assert {k: v.name for k, v in sources.items()} == {
        "train": "pt_x-ud-train.conllu",
        "dev": "pt_x-ud-dev.conllu",
        "test": "pt_x-ud-test.conllu",
    }


def test_single_file_means_dev_and_test_are_split_off(write):
    train = write("only.conllu", sentences(3))
    assert resolve_sources(train, train, train) == {"train": train, "dev": None, "test": None}


def test_missing_inputs_are_reported(tmp_path, write):
    with pytest.raises(CorpusError, match="no such file or folder"):
        resolve_sources(tmp_path / "nope.conllu", tmp_path / "nope.conllu", tmp_path / "nope.conllu")
    write("folder/notes.txt", "x")
    with pytest.raises(CorpusError, match="no train file in this folder"):
        resolve_sources(tmp_path / "folder", tmp_path / "folder", tmp_path / "folder")


def test_split_is_seeded_by_document_and_covers_everything():
    nlp = spacy.blank("pt")
    docs = [nlp(f"documento {i}") for i in range(50)]
    a = split_documents(docs, 0.1, 0.2, seed=1, need_dev=True, need_test=True)
    b = split_documents(docs, 0.1, 0.2, seed=1, need_dev=True, need_test=True)
    c = split_documents(docs, 0.1, 0.2, seed=2, need_dev=True, need_test=True)
    texts = lambda split: [[d.text for d in part] for part in split]  # noqa: E731
    assert texts(a) == texts(b) != texts(c)
    assert [len(p) for p in a] == [35, 5, 10]
    assert sorted(d.text for part in a for d in part) == sorted(d.text for d in docs)


def test_convert_writes_docbins_and_stats(write, tmp_path):
    train = write(
        "train.conllu",
        "# newdoc\n" + ANA_SENTENCE + "\n\n" + "".join(f"# newdoc\n{sentences(2, 2 * k)}" for k in range(19)),
    )
    stats = convert(train, train, train, tmp_path / "out", seed=0, dev_ratio=0.1, test_ratio=0.1)
    splits = {s: load(tmp_path / "out" / f"{s}.spacy") for s in ("train", "dev", "test")}
    assert [len(splits[s]) for s in ("train", "dev", "test")] == [16, 2, 2]
    on_disk = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert on_disk == stats
    assert sum(s["documents"] for s in stats["splits"].values()) == 20
    assert sum(s["sentences"] for s in stats["splits"].values()) == 39
    assert stats["labels"] == ["LOC", "PER"]
    assert stats["sources"]["dev"] == "split from train (seed 0)"


def test_cli_error_names_file_and_line_and_exits_nonzero(write, tmp_path):
    bad = write("bad.conllu", "1\tCasa\n\n")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "convert.py"),
            "--train",
            str(bad),
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"{bad}:1: expected 10 tab-separated columns, found 2" in result.stderr
    assert not (tmp_path / "out" / "train.spacy").exists()


def test_format_is_detected_by_content_when_the_extension_says_nothing(write, tmp_path):
    data = write("data.txt", sentences(30))
    stats = convert(data, data, data, tmp_path / "out")
    assert stats["formats"] == {"train": "conllu"}
    with pytest.raises(CorpusError, match="unknown format 'xml'"):
        convert(data, data, data, tmp_path / "out", fmt="xml")


def test_extra_train_goes_to_the_training_split_only(write, tmp_path):
    for split in ("train", "dev", "test"):
        write(f"corpus/pt_x-ud-{split}.conllu", sentences(10, start={"train": 0, "dev": 100, "test": 200}[split]))
    write("extra/a-ud-dev.conllu", sentences(10, start=300))  # a "dev" file of another treebank: training data here
    write("extra/b.conllu", sentences(10, start=400))
    write("extra/.hidden.conllu", sentences(10, start=500))
    folder = tmp_path / "corpus"
    plain = convert(folder, folder, folder, tmp_path / "out1", extra_train=folder)  # the default: nothing extra
    extra = convert(folder, folder, folder, tmp_path / "out2", extra_train=tmp_path / "extra")
    assert extra["splits"]["train"]["sentences"] == plain["splits"]["train"]["sentences"] + 20
    assert extra["splits"]["dev"] == plain["splits"]["dev"] and extra["splits"]["test"] == plain["splits"]["test"]
    assert [Path(p).name for p in extra["extra_train"]] == ["a-ud-dev.conllu", "b.conllu"]
    texts = {d.text for d in load(tmp_path / "out2" / "train.spacy")}
    assert any("Casa300" in t for t in texts) and not any("Casa500" in t for t in texts)
    with pytest.raises(CorpusError, match="missing \\(extra_train\\): no such file or folder"):
        convert(folder, folder, folder, tmp_path / "out3", extra_train=tmp_path / "missing")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "scripts.convert", *map(str, args)], capture_output=True, text=True)


def test_strip_prefix_cuts_a_shared_token_prefix_and_keeps_the_entities(write, tmp_path):
    # an export that writes the language on every token: `pt:Ana B-PER`
    path = write(
        "p.iob", "".join(f"pt:Ana{i} B-PER\npt:Silva I-PER\npt:mora O\npt:em O\npt:Lisboa B-LOC\n\n" for i in range(20))
    )
    warned = cli("--train", path, "--output-dir", tmp_path / "raw", "--n-sents", "1")
    assert "strip it in convert with --vars.strip_prefix 'pt:'" in warned.stdout, warned.stdout
    result = cli("--train", path, "--output-dir", tmp_path / "out", "--n-sents", "1", "--strip-prefix", "pt:")
    assert result.returncode == 0, result.stderr
    assert "start with 'pt:'" not in result.stdout
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    assert stats["strip_prefix"] == {"prefix": "pt:", "tokens": 100} and stats["token_prefixes"] == {}
    docs = [d for split in ("train", "dev", "test") for d in load(tmp_path / "out" / f"{split}.spacy")]
    assert len(docs) == 20 and all(not t.text.startswith("pt:") for d in docs for t in d)
    assert all([(e.text, e.label_) for e in d.ents] == [(d[0].text + " Silva", "PER"), ("Lisboa", "LOC")] for d in docs)
    assert all(d.has_annotation("SENT_START") for d in docs)


def test_strip_prefix_keeps_the_tree_lemmas_and_morphology_of_a_treebank(write, tmp_path):
    text = "".join(
        f"# text = pt:Casa{i} pt:caiu\n1\tpt:Casa{i}\tpt:casa\tNOUN\t_\tGender=Fem\t2\tnsubj\t_\t_\n"
        f"2\tpt:caiu\tpt:cair\tVERB\t_\t_\t0\troot\t_\t_\n\n"
        for i in range(10)
    )
    path = write("p.conllu", text)
    stats = convert(path, path, path, tmp_path / "out", options=ReadOptions(n_sents=1), strip_prefix="pt:")
    assert stats["strip_prefix"]["tokens"] == 20
    (doc, *_) = load(tmp_path / "out" / "train.spacy")
    assert [(t.text, t.lemma_, t.pos_, t.dep_, t.head.i, str(t.morph)) for t in doc[:2]] == [
        (doc[0].text, "casa", "NOUN", "nsubj", 1, "Gender=Fem"),
        ("caiu", "cair", "VERB", "ROOT", 1, ""),
    ]
    assert doc[0].text.startswith("Casa")


def test_leakage_does_not_count_a_token_prefix_as_a_word():
    from pt_pipelines.held_out import HeldOut, normalise

    assert (
        normalise("pt:Ana pt:mora em pt:Lisboa .")
        == normalise("Ana mora em Lisboa.")
        == ("ana", "mora", "em", "lisboa")
    )
    assert normalise("às 10:30 veja: isto") == ("às", "10", "30", "veja", "isto"), "a colon in text stays a separator"
    held = HeldOut(["pt:A pt:Ana pt:mora pt:em pt:Lisboa pt:desde pt:o pt:ano pt:passado ."])
    assert held.contains("A Ana mora em Lisboa desde o ano passado.")


def test_a_folder_of_many_files_is_named_by_a_few_and_the_count(write, tmp_path):
    for i in range(50):
        write(f"docs/doc{i:03}-train.conllu", sentences(1))
    folder = tmp_path / "docs"
    with pytest.raises(CorpusError) as error:
        resolve_sources(folder, folder, folder)
    message = str(error.value)
    assert "50 train files: doc000-train.conllu, doc001-train.conllu" in message and "and 45 more (50 files)" in message
    assert "doc049" not in message and len(message) < 400
    for i in range(50):
        write(f"other/train-part{i:03}.xml", "<doc/>")
    with pytest.raises(CorpusError, match=r"train-part004.xml and 45 more \(50 files\): an extension") as error:
        resolve_sources(tmp_path / "other", tmp_path / "other", tmp_path / "other")
    assert len(str(error.value)) < 500


def iob(sentences_tags):
    return "".join("".join(f"{w} {t}\n" for w, t in s) + "\n" for s in sentences_tags)


MAIN = [[("Ana", "B-PESSOA"), ("mora", "O"), ("em", "O"), ("Lisboa", "B-LOCAL")]] * 10
OTHER = [
    [
        ("Rui", "B-PER"),
        ("viu", "O"),
        ("a", "O"),
        ("Sonae", "B-ORG"),
        ("em", "O"),
        ("Braga", "B-LOC"),
        ("Euro", "B-MISC"),
    ]
]


def test_label_map_renames_and_drops_the_labels_of_extra_train(write, tmp_path):
    main = write("main.iob", iob(MAIN))
    extra = write("extra/other.iob", iob(OTHER * 3))
    mapping = {"PER": "PESSOA", "LOC": "LOCAL", "ORG": "ORGANIZACAO", "MISC": ""}
    stats = convert(
        main, main, main, tmp_path / "out", extra_train=extra, label_map=mapping, options=ReadOptions(n_sents=1)
    )
    assert stats["label_map"] == {
        "mapped": {
            "PER": {"to": "PESSOA", "entities": 3},
            "LOC": {"to": "LOCAL", "entities": 3},
            "ORG": {"to": "ORGANIZACAO", "entities": 3},
        },
        "dropped": {"MISC": 3},
    }
    assert stats["splits"]["train"]["entities_per_label"] == {"LOCAL": 8 + 3, "ORGANIZACAO": 3, "PESSOA": 8 + 3}
    assert stats["labels"] == ["LOCAL", "ORGANIZACAO", "PESSOA"]
    extra_docs = [d for d in load(tmp_path / "out" / "train.spacy") if "Rui" in d.text]
    assert extra_docs and all(d[6].ent_iob == 0 and d[1].ent_iob_ == "O" for d in extra_docs), (
        "a dropped label is missing, not O"
    )


def test_extra_partial_leaves_the_extra_corpus_non_entity_tokens_missing_and_the_main_corpus_as_it_is(write, tmp_path):
    main = write("main.iob", iob(MAIN))
    extra = write("extra/other.iob", iob(OTHER * 3))
    mapping = {"PER": "PESSOA", "LOC": "LOCAL", "ORG": "ORGANIZACAO", "MISC": ""}
    stats = convert(main, main, main, tmp_path / "out", extra_train=extra, label_map=mapping, extra_partial=True,
        options=ReadOptions(n_sents=1))
    docs = load(tmp_path / "out" / "train.spacy")
    extra_docs, main_docs = [d for d in docs if "Rui" in d.text], [d for d in docs if "Rui" not in d.text]
    assert extra_docs and all(t.ent_iob_ in ("B", "I") or t.ent_iob == 0 for d in extra_docs for t in d)
    assert all(d[0].ent_iob_ == "B" for d in extra_docs), "the entities stay"
    assert main_docs and all(t.ent_iob != 0 for d in main_docs for t in d), "the main corpus keeps its O"
    assert stats["extra_partial"]["missing_tokens"] == sum(t.ent_iob == 0 for d in extra_docs for t in d) > 0
    with pytest.raises(ConfigError, match="no extra_train"):
        convert(main, main, main, tmp_path / "out2", extra_partial=True)


def test_label_map_refuses_a_label_neither_mapped_nor_known_at_its_line(write, tmp_path):
    main = write("main.iob", iob(MAIN * 3))
    extra = write("extra.iob", iob(OTHER))
    with pytest.raises(CorpusError) as error:
        convert(main, main, main, tmp_path / "out", extra_train=extra, label_map={"PER": "PESSOA", "LOC": "LOCAL"})
    assert str(error.value).startswith(f"{extra}:4: unknown label 'ORG' (known: LOC, LOCAL, PER, PESSOA)")
    assert "--vars.label_map" in str(error.value) and not (tmp_path / "out").exists()
    record = {
        "text": "Rui viu a Sonae.",
        "spans": [{"start": 0, "end": 3, "label": "PER"}, {"start": 10, "end": 15, "label": "ORG"}],
    }
    extra_json = write("extra.jsonl", json.dumps({"text": "Rui.", "spans": []}) + "\n" + json.dumps(record) + "\n")
    result = cli(
        "--train", main, "--extra-train", extra_json, "--output-dir", tmp_path / "out", "--label-map", "PER=PESSOA"
    )
    assert result.returncode == 1 and result.stderr.startswith(f"✘ {extra_json}:2: unknown label 'ORG'"), result.stderr
    assert "Traceback" not in result.stderr
    result = cli("--train", main, "--output-dir", tmp_path / "out", "--label-map", "PER")
    assert result.returncode == 1 and ": PER is not LABEL=TARGET" in result.stderr, result.stderr
    result = cli("--train", main, "--output-dir", tmp_path / "out", "--label-map", "PER=PESSOA")
    assert result.returncode == 1 and "no extra_train is given" in result.stderr, result.stderr
