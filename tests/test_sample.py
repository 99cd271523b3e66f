"""The shipped sample corpus: well-formed, fully annotated, checksums as declared."""

from __future__ import annotations

from collections import Counter

import pytest
from weasel.util import load_project_config

from conftest import ROOT
from pt_pipelines.files import checksum
from pt_pipelines.readers.conllu import read_conllu, sentence_entities

SAMPLE = ROOT / "assets" / "sample"
FILES = sorted(SAMPLE.glob("*.conllu"))


def all_sentences():
    return [s for f in FILES for s in read_conllu(f)]


def test_three_splits_and_enough_sentences():
    assert [f.name.rsplit("-", 1)[-1] for f in FILES] == ["dev.conllu", "test.conllu", "train.conllu"]
    sents = all_sentences()  # read_conllu raises on several roots, cycles, bad heads or IDs
    assert len(sents) >= 150
    assert len({s.text for s in sents}) == len(sents), "sentences are unique"
    assert not {s.text for s in read_conllu(FILES[1])} & {s.text for s in read_conllu(FILES[2])}, "test not in train"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_word_is_fully_annotated(path):
    for sent in read_conllu(path):
        roots = [w for w in sent.words if w.head == 0]
        assert len(roots) == 1 and roots[0].deprel == "root", sent.sent_id
        for w in sent.words:
            assert w.lemma != "_" and w.upos != "_" and w.deprel != "_" and w.head is not None, (sent.sent_id, w.id)
            assert (w.deprel == "root") == (w.head == 0), (sent.sent_id, w.id)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_text_comment_matches_the_tokens(path):
    for sent in read_conllu(path):
        covered = {i for m in sent.multiword for i in range(m.start, m.end + 1)}
        pieces, mwt_at = [], {m.start: m for m in sent.multiword}
        for w in sent.words:
            if w.id in mwt_at:
                m = mwt_at[w.id]
                pieces.append(m.form + ("" if "SpaceAfter=No" in m.misc else " "))
            elif w.id not in covered:
                pieces.append(w.form + ("" if "SpaceAfter=No" in w.misc else " "))
        assert "".join(pieces).strip() == sent.text, sent.sent_id


def test_entity_labels_cover_per_org_loc_misc():
    labels = Counter()
    for sent in all_sentences():
        labels.update(label for _, _, label in sentence_entities(sent, "iob2"))
    assert set(labels) == {"PER", "ORG", "LOC", "MISC"}
    assert min(labels.values()) >= 10, labels


def test_checksums_in_project_yml_are_true():
    assets = {
        a["dest"]: a["checksum"] for a in load_project_config(ROOT)["assets"] if a["dest"].startswith("assets/sample/")
    }
    assert sorted(assets) == [f"assets/sample/{f.name}" for f in FILES]
    for dest, md5 in assets.items():
        assert checksum(ROOT / dest) == md5, dest
