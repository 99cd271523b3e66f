"""Results records written by evaluate and the README table generated from them."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from scripts.evaluate import result_record
from scripts.results_table import (
    HEADER,
    LeversError,
    load_anchors,
    load_records,
    render,
    render_levers,
    render_page,
    write_results,
)

ANCHORS = load_anchors(ROOT / "results")

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
    table = render(load_records(tmp_path), ANCHORS)
    rows = table.splitlines()
    assert rows[2].startswith(
        "| bosque | *target* | test | 97.30 | 96.10 | 97.40 | 90.00 | 86.00 |  |  |  | this template's goal"
    )
    assert rows[3].startswith("| bosque | **ud** | test | 97.12 |  |  |  | 86.10 |  | 12,000 | 10 min, 100 steps |")
    assert "| bosque-r2.8 | *pt_core_news_sm 3.x* | dev | 96.38 |" in table, "spaCy's figures are dev scores"
    assert "| lener | *LSTM-CRF* |" in table and "| lener | **ner** |" in table and "sample" not in table
    assert table.index("*LSTM-CRF*") < table.index("**ner**"), "anchors first"


def test_a_run_with_extra_training_data_is_marked_apart_from_the_published_protocol(tmp_path):
    for name, extra in (("harem-ner", None), ("harem-ner-lener", "assets/lener/train.conll")):
        rec = result_record(SCORES, "harem-selective", name.removeprefix("harem-"), {"seconds": 60.0, "steps": 10})
        if extra:
            rec.update(extra_train=extra, label_map="LEGISLACAO=,JURISPRUDENCIA=")
        (tmp_path / f"{name}.json").write_text(json.dumps(rec))
    table = render(load_records(tmp_path), [])
    assert "| **ner-lener + extra train data** |" in table and "| **ner** |" in table


def test_two_runs_of_one_corpus_and_pipeline_are_told_apart_by_run_name(tmp_path):
    """A run on other splits of the same files (--vars.run_name) must not read as a second score of the first."""
    for name, run_name, f in (("harem-ner", "harem", 0.56), ("harem-bigdev-ner", "harem-bigdev", 0.55)):
        rec = result_record({"ents_f": f}, "harem", "ner", {"seconds": 60.0})
        (tmp_path / f"{name}.json").write_text(json.dumps({**rec, "run_name": run_name}))
    table = render(load_records(tmp_path), ANCHORS)
    assert "| harem | **ner** | test |" in table and "| harem | **ner (run harem-bigdev)** | test |" in table
    spec = {"levers": [{"lever": "bigger dev", "run": "harem-bigdev-ner", "baseline": "harem-ner"}]}
    assert "| bigger dev | harem | test | ner (run harem-bigdev) | ner |" in render_levers(load_records(tmp_path), spec, tmp_path)


def test_results_page_is_rewritten_only_when_it_changes(tmp_path):
    page = tmp_path / "docs" / "results.md"
    assert write_results(page, "| new |") and page.read_text() == HEADER + "| new |\n"
    assert not write_results(page, "| new |")


def test_results_page_is_current_with_the_committed_records():
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf8")
    assert text == HEADER + render_page(ROOT / "results") + "\n", "run: python -m spacy project run results-table ."


def test_metrics_is_the_users_own_and_wholly_ignored():
    """A user's run writes only to metrics/, which git ignores as a whole; the published records are in results/."""
    import subprocess

    user_files = ["metrics/mycorpus-ner.json", "metrics/levers.yml", "metrics/benchmark-speed-x.json", "metrics/report.md"]
    ignored = subprocess.run(["git", "check-ignore", *user_files], cwd=ROOT, capture_output=True, text=True).stdout
    assert ignored.split() == user_files
    assert subprocess.run(["git", "check-ignore", "-q", "results/lener-ner.json"], cwd=ROOT).returncode == 1


def _records(folder, *runs):
    """Write one record per (file, corpus, pipeline, seed, scores) into folder."""
    for name, corpus, pipeline, seed, scores in runs:
        rec = result_record(scores, corpus, pipeline, {"seconds": 60.0, "steps": 100, "seed": seed})
        (folder / f"{name}.json").write_text(json.dumps(rec))


def test_levers_show_deltas_speed_and_seed_noise(tmp_path):
    _records(
        tmp_path,
        ("lener-ner", "lener", "ner", 0, {"ents_f": 0.8145}),
        ("lener-ner-seed1", "lener", "ner-seed1", 1, {"ents_f": 0.8101}),
        ("lener-ner-rawvectors", "lener", "ner-rawvectors", 0, {"ents_f": 0.8173}),
    )
    (tmp_path / "benchmark-speed-x.json").write_text(
        json.dumps({"pipelines": {"vec": {"words_per_s": 7000.0}, "base": {"words_per_s": 14000.0}}})
    )
    (tmp_path / "levers.yml").write_text(
        "levers:\n"
        "  - {lever: raw-text vectors, run: lener-ner-rawvectors, baseline: lener-ner,\n"
        "     speed: {benchmark: benchmark-speed-x.json, run: vec, baseline: base}}\n"
        "seed_runs:\n  - [lener-ner, lener-ner-seed1]\n"
    )
    page = render_page(tmp_path)
    lever_row = next(line for line in page.splitlines() if line.startswith("| raw-text vectors |"))
    assert lever_row == "| raw-text vectors | lener | test | ner-rawvectors | ner |  |  |  |  |  | +0.28 | 7,000 vs 14,000 (0.50x) |"
    assert "| lener | test | ner (0), ner-seed1 (1) |  |  |  |  |  | 81.01–81.45 (0.44) |" in page
    assert page.startswith(render(load_records(tmp_path), [])), "the results table comes first, unchanged"


def test_a_lever_measured_by_several_benchmark_runs_shows_the_median_ratio_and_its_range(tmp_path):
    _records(tmp_path, ("lener-a", "lener", "ner", 0, {"ents_f": 0.81}), ("lener-b", "lener", "ner-vectors", 0, {"ents_f": 0.82}))
    for name, vec in (("b1.json", 8000.0), ("b2.json", 9900.0), ("b3.json", 10000.0)):
        (tmp_path / name).write_text(json.dumps({"pipelines": {"vec": {"words_per_s": vec}, "base": {"words_per_s": 10000.0}}}))
    speed = {"benchmark": ["b1.json", "b2.json", "b3.json"], "run": "vec", "baseline": "base"}
    spec = {"levers": [{"lever": "vectors", "run": "lener-b", "baseline": "lener-a", "speed": speed}]}
    row = render_levers(load_records(tmp_path), spec, tmp_path).splitlines()[2]
    assert row.endswith("| 0.99x, median of 3 benchmark runs (0.80x to 1.00x) |")
    with pytest.raises(LeversError, match="list is empty"):
        render_levers(load_records(tmp_path), {"levers": [{**spec["levers"][0], "speed": {**speed, "benchmark": []}}]}, tmp_path)


def test_levers_refuse_what_they_cannot_compare(tmp_path):
    _records(
        tmp_path,
        ("lener-ner", "lener", "ner", 0, {"ents_f": 0.81}),
        ("harem-ner", "harem-selective", "ner", 0, {"ents_f": 0.56}),
    )
    records = load_records(tmp_path)
    cases = [
        ({"levers": [{"lever": "x", "run": "lener-ner", "baseline": "missing"}]}, "no results record results/missing.json"),
        ({"levers": [{"lever": "x", "run": "lener-ner", "baseline": "harem-ner"}]}, "not on the same corpus and split"),
        ({"levers": [{"run": "lener-ner"}]}, "each lever needs lever"),
        ({"levers": [{"lever": "x", "run": "lener-ner", "baseline": "lener-ner", "speed": {"benchmark": "b.json"}}]}, "speed needs"),
        (
            {"levers": [{"lever": "x", "run": "lener-ner", "baseline": "lener-ner", "speed": {"benchmark": "nope.json", "run": "a", "baseline": "b"}}]},
            "has no words_per_s",
        ),
        ({"seed_runs": ["lener-ner"]}, "seed_runs[0]"),
    ]
    for spec, message in cases:
        try:
            render_levers(records, spec, tmp_path)
        except LeversError as err:
            assert message in str(err) and "results/levers.yml" in str(err), (spec, err)
        else:
            raise AssertionError(f"accepted {spec}")


def test_results_table_cli_reports_a_bad_levers_file_in_one_line(tmp_path):
    import subprocess
    import sys

    _records(tmp_path, ("lener-ner", "lener", "ner", 0, {"ents_f": 0.81}))
    (tmp_path / "levers.yml").write_text("levers: [{lever: x, run: lener-ner, baseline: gone}\n")
    out = tmp_path / "results.md"
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.results_table", "--results", str(tmp_path), "--output", str(out)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "levers.yml" in proc.stderr, proc.stderr
    assert not out.exists()
    (tmp_path / "levers.yml").write_text("levers: [{lever: x, run: lener-ner, baseline: gone}]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.results_table", "--results", str(tmp_path), "--output", str(out)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 1 and "no results record results/gone.json" in proc.stderr and not out.exists()


def test_records_name_outside_vectors_by_name_and_md5_never_by_path():
    from scripts.evaluate import vectors_provenance

    settings = {"source": "/home/me/emb/cc.pt.vec", "kind": "file", "md5": "ab12", "lang": "pt", "prune": -1, "truncate": 0}
    assert vectors_provenance(settings) == {"source": "cc.pt.vec", "kind": "file", "md5": "ab12", "prune": -1, "truncate": 0}
    package = {"source": "pt_core_news_lg", "kind": "package", "version": "3.8.0", "lang": "pt", "prune": 20000, "truncate": 0}
    assert vectors_provenance(package)["source"] == "pt_core_news_lg" and vectors_provenance(package)["version"] == "3.8.0"


@pytest.mark.slow
def test_evaluate_names_extra_training_data_in_the_record(sample_run, tmp_path):
    import subprocess
    import sys

    def record_with(extra: str, *options: str) -> dict:
        record = tmp_path / f"record-{len(extra)}.json"
        command = [sys.executable, "-m", "scripts.evaluate", str(sample_run.path / "training" / "model-best")]
        command += [str(sample_run.path / "corpus" / "test.spacy"), "--output", str(tmp_path / "scores.json")]
        command += ["--record", str(record), "--corpus", "sample", "--pipeline", "ud"]
        command += ["--train-input", "assets/sample", "--extra-train", extra, *options]
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        return json.loads(record.read_text(encoding="utf8"))

    extra = record_with("more/ud-treebanks")
    assert extra["extra_train"] == "more/ud-treebanks" and extra["config"].endswith(", extra_train more/ud-treebanks")
    mapped = record_with("more/ner.iob", "--label-map", "MISC=,PER=PESSOA")
    assert mapped["label_map"] == "MISC=,PER=PESSOA" and mapped["config"].endswith("label_map MISC=,PER=PESSOA")
    partial = record_with("more/ner.iob", "--label-map", "MISC=", "--extra-partial", "true")
    assert partial["label_map"] == "MISC=" and partial["extra_partial"] is True
    assert partial["config"].endswith("label_map MISC=, extra_partial (its non-entity tokens missing)")
    assert "extra_partial" not in mapped and "extra_partial" not in mapped["config"]
    plain = record_with("assets/sample")  # project.yml's default: the train input, so nothing extra
    assert "extra_train" not in plain and "extra_train" not in plain["config"]


def test_a_record_names_the_raw_text_and_its_held_out_files_by_name_never_by_path():
    from scripts.evaluate import provenance

    raw = {"md5": "ab12", "words": 1000, "texts": 3, "inputs": [{"path": "/home/me/raw/a.txt.xz", "md5": "cd34"}],
           "held_out": {"files": ["/home/me/heldout/harem-test.spacy"], "removed": 5, "sentences": 9}}
    record = {"init": "none"}
    provenance(record, {"raw_text": raw}, {"base_config": "configs/ner_base_config.cfg"}, "")
    assert record["raw_text"] == {"md5": "ab12", "words": 1000, "inputs": {"a.txt.xz": "cd34"},
                                  "held_out": {"files": ["harem-test.spacy"], "removed": 5, "sentences": 9}}
