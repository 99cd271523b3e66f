"""Results records written by evaluate and the README table generated from them."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from scripts.evaluate import result_record
from scripts.results_table import END, START, load_records, render, update_readme

SCORES = {
    "pos_acc": 0.9712,
    "dep_las": 0.861,
    "ents_f": None,
    "speed": 12000.0,
    "token_acc": 1.0,
    "ents_per_type": {},
    "dep_las_per_type": {"nsubj": {"p": 1}},
}


def test_result_record_keeps_headline_scores_and_provenance():
    rec = result_record(SCORES, "bosque", "ud", {"seconds": 1800.0, "steps": 4000, "seed": 0})
    assert rec["scores"] == {"token_acc": 1.0, "pos_acc": 0.9712, "dep_las": 0.861}
    assert (rec["corpus"], rec["pipeline"], rec["split"], rec["train_seconds"]) == ("bosque", "ud", "test", 1800.0)
    assert rec["spacy_version"] and rec["machine"] and rec["date"]


def test_table_puts_records_next_to_anchors_and_leaves_out_the_sample(tmp_path):
    for corpus, pipeline in (("bosque", "ud"), ("lener", "ner"), ("sample", "full")):
        rec = result_record(SCORES, corpus, pipeline, {"seconds": 600.0, "steps": 100})
        (tmp_path / f"{corpus}-{pipeline}.json").write_text(json.dumps(rec))
    (tmp_path / "benchmark-convert.json").write_text(json.dumps({"ratio": 1.7}))
    table = render(load_records(tmp_path))
    rows = table.splitlines()
    assert rows[2].startswith(
        "| bosque | *target* | 97.30 | 96.10 | 97.40 | 90.00 | 86.00 |  |  |  | this template's goal"
    )
    assert rows[3].startswith("| bosque | **ud** | 97.12 |  |  |  | 86.10 |  | 12,000 | 10 min, 100 steps |")
    assert "| lener | *LSTM-CRF* |" in table and "| lener | **ner** |" in table and "sample" not in table
    assert table.index("*LSTM-CRF*") < table.index("**ner**"), "anchors first"


def test_readme_update_replaces_only_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nold\n{END}\noutro\n")
    assert update_readme(readme, "| new |") and readme.read_text() == f"intro\n{START}\n| new |\n{END}\noutro\n"
    assert not update_readme(readme, "| new |")
    readme.write_text("no markers")
    with pytest.raises(SystemExit, match="add the lines"):
        update_readme(readme, "x")


def test_readme_table_is_current_with_the_committed_records():
    text = (ROOT / "README.md").read_text(encoding="utf8")
    current = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert current == render(load_records(ROOT / "metrics")), "run: spacy project run results-table"
