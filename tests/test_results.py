"""Results records written by evaluate and the README table generated from them."""

from __future__ import annotations

import json

from conftest import ROOT
from scripts.evaluate import result_record
from scripts.results_table import HEADER, load_records, render, write_results

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
        "| bosque | *target* | test | 97.30 | 96.10 | 97.40 | 90.00 | 86.00 |  |  |  | this template's goal"
    )
    assert rows[3].startswith("| bosque | **ud** | test | 97.12 |  |  |  | 86.10 |  | 12,000 | 10 min, 100 steps |")
    assert "| bosque-r2.8 | *pt_core_news_sm 3.x* | dev | 96.38 |" in table, "spaCy's figures are dev scores"
    assert "| lener | *LSTM-CRF* |" in table and "| lener | **ner** |" in table and "sample" not in table
    assert table.index("*LSTM-CRF*") < table.index("**ner**"), "anchors first"


def test_results_page_is_rewritten_only_when_it_changes(tmp_path):
    page = tmp_path / "docs" / "results.md"
    assert write_results(page, "| new |") and page.read_text() == HEADER + "| new |\n"
    assert not write_results(page, "| new |")


def test_results_page_is_current_with_the_committed_records():
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf8")
    assert text == HEADER + render(load_records(ROOT / "metrics")) + "\n", "run: spacy project run results-table"
