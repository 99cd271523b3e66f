"""benchmarks/convert_speed.py: the missing-lemma policy is reported apart, a real difference still fails."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from benchmarks.convert_speed import compare, main

# `_` lemmas as many treebanks have them, one in a multiword token (do = de + o)
CONLLU = """# sent_id = 1
# text = Ele gosta do mar.
1	Ele	_	PRON	_	_	2	nsubj	_	_
2	gosta	gostar	VERB	_	_	0	root	_	_
3-4	do	_	_	_	_	_	_	_	_
3	de	de	ADP	_	_	5	case	_	_
4	o	_	DET	_	_	5	det	_	_
5	mar	_	NOUN	_	_	2	obl	_	SpaceAfter=No
6	.	.	PUNCT	_	_	2	punct	_	_

"""


def test_underscore_lemmas_are_the_policy_not_a_failure(tmp_path):
    path = tmp_path / "tiny.conllu"
    path.write_text(CONLLU, encoding="utf8")
    app = typer.Typer()
    app.command()(main)
    result = CliRunner().invoke(app, [str(path), "--repeats", "1", "--output", str(tmp_path / "bench.json")])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "bench.json").read_text())
    assert record["identical_annotations"] and record["differing_tokens"] == 0
    assert record["missing_lemma_tokens"] == 3  # Ele, do (de _), mar
    assert "3 tokens with the UD lemma `_`" in result.output


def test_a_difference_beside_the_lemma_policy_is_still_a_difference():
    ours = [("mar", " ", "N", "NOUN", "", "", "obl", 1, 0, "O", "")]
    assert compare(ours, [("mar", " ", "N", "NOUN", "", "_", "obl", 1, 0, "O", "")]) == (0, 1)
    assert compare(ours, [("mar", " ", "N", "VERB", "", "_", "obl", 1, 0, "O", "")]) == (1, 0)
    assert compare(ours, [("mar", " ", "N", "NOUN", "", "mar", "obl", 1, 0, "O", "")]) == (1, 0)
    assert compare(ours, ours + ours) == (1, 0)
