"""Report figures against hand-computed cases; the rendered report on the sample, in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example

from pt_pipelines.scoring import MISSED, SPURIOUS, las_per_deprel, ner_confusion, ner_per_label, pos_per_tag
from scripts.report import (
    GOLD_CAPTION,
    MIN_CURVE_POINTS,
    MIN_OVERFIT_SUPPORT,
    PRED_CAPTION,
    curve_note,
    dev_curves,
    headline_head,
    headline_rows,
    history_key,
    learning_curves,
    loss_curves,
    overfit_flag,
    parse_figures,
    parse_pages_html,
    parse_pages_md,
    record_run,
    run_name,
)

NLP = spacy.blank("pt")
WORDS = ["Ana", "Silva", "visitou", "o", "Porto", "e", "a", "Sonae", "ontem"]


def doc(ents, pos, heads, deps):
    d = Doc(NLP.vocab, words=WORDS, pos=pos, heads=heads, deps=deps)
    d.ents = [Span(d, s, e, label=lab) for s, e, lab in ents]
    return d


GOLD = doc(
    [(0, 2, "PER"), (4, 5, "LOC"), (7, 8, "ORG")],
    ["PROPN", "PROPN", "VERB", "DET", "PROPN", "CCONJ", "DET", "PROPN", "ADV"],
    [2, 0, 2, 4, 2, 7, 7, 4, 2],
    ["nsubj", "flat:name", "ROOT", "det", "obj", "cc", "det", "conj", "advmod"],
)
# predicted: PER right; LOC labelled ORG; ORG missed; "ontem" spurious MISC
# POS: "Silva" NOUN (wrong), "ontem" NOUN (wrong); parse: "e" attached to 4 (head wrong), "ontem" labelled obl (label wrong)
PRED = doc(
    [(0, 2, "PER"), (4, 5, "ORG"), (8, 9, "MISC")],
    ["PROPN", "NOUN", "VERB", "DET", "PROPN", "CCONJ", "DET", "PROPN", "NOUN"],
    [2, 0, 2, 4, 2, 4, 7, 4, 2],
    ["nsubj", "flat:name", "ROOT", "det", "obj", "cc", "det", "conj", "obl"],
)
EXAMPLES = [Example(PRED, GOLD)]


def test_ner_per_label_matches_hand_count():
    by_label = {s.label: s for s in ner_per_label(EXAMPLES)}
    # PER: tp1 fp0 fn0; LOC: tp0 fp0 fn1; ORG: tp0 fp1 (the LOC span) fn1; MISC: tp0 fp1 fn0
    assert {k: (v.tp, v.fp, v.fn, v.support) for k, v in by_label.items()} == {
        "PER": (1, 0, 0, 1),
        "LOC": (0, 0, 1, 1),
        "ORG": (0, 1, 1, 1),
        "MISC": (0, 1, 0, 0),
    }
    assert (by_label["PER"].p, by_label["PER"].r, by_label["PER"].f) == (1.0, 1.0, 1.0)
    assert [s.label for s in ner_per_label(EXAMPLES)][-1] == "PER", "worst first"


def test_ner_confusion_has_missed_and_spurious():
    assert ner_confusion(EXAMPLES) == {("PER", "PER"): 1, ("LOC", "ORG"): 1, ("ORG", MISSED): 1, (SPURIOUS, "MISC"): 1}


def test_pos_accuracy_per_tag():
    per_tag, confusion = pos_per_tag(EXAMPLES)
    assert per_tag["PROPN"] == (3 / 4, 4) and per_tag["ADV"] == (0.0, 1) and per_tag["DET"] == (1.0, 2)
    assert confusion[("PROPN", "NOUN")] == 1 and confusion[("ADV", "NOUN")] == 1
    assert list(per_tag)[0] == "ADV", "worst first"


def test_las_per_relation():
    per_dep = las_per_deprel(EXAMPLES)
    assert per_dep["cc"] == (0.0, 1) and per_dep["advmod"] == (0.0, 1) and per_dep["nsubj"] == (1.0, 1)
    assert sum(n for _, n in per_dep.values()) == len(WORDS)


def test_history_keeps_one_run_per_key_and_returns_the_previous_other():
    key = lambda config: {"config_md5": config, "corpus_md5": "t"}  # noqa: E731
    runs, previous = record_run([], key("a"), {"scores": {"pos_acc": 0.5}})
    assert previous is None
    runs, previous = record_run(runs, key("b"), {"scores": {"pos_acc": 0.6}})
    assert previous["scores"] == {"pos_acc": 0.5}
    runs, previous = record_run(runs, key("b"), {"scores": {"pos_acc": 0.7}})
    assert previous["scores"] == {"pos_acc": 0.5} and len(runs) == 2
    runs, previous = record_run(runs, key("a"), {"scores": {"pos_acc": 0.8}})
    assert previous["scores"] == {"pos_acc": 0.7} and [r["config_md5"] for r in runs] == ["b", "a"]


def test_previous_run_is_on_the_same_test_set():
    runs, _ = record_run([], {"config_md5": "a", "corpus_md5": "test1"}, {"scores": {"pos_acc": 0.5}})
    # another config, but scored on another test set: nothing to compare with
    runs, previous = record_run(runs, {"config_md5": "b", "corpus_md5": "test2"}, {"scores": {"pos_acc": 0.9}})
    assert previous is None
    runs, previous = record_run(runs, {"config_md5": "c", "corpus_md5": "test1"}, {"scores": {"pos_acc": 0.6}})
    assert previous["config_md5"] == "a" and previous["scores"] == {"pos_acc": 0.5}


def test_history_follows_the_run_id_where_train_wrote_one(tmp_path):
    """Two runs with one configs/config.cfg (vectors or not, another dev file) are two runs when train's run_id differs."""
    config, test = tmp_path / "config.cfg", tmp_path / "test.spacy"
    config.write_text("[paths]\n")
    test.write_bytes(b"t")
    first, second = (history_key({"run_id": rid, "seed": 0}, config, test) for rid in ("1111aaaa", "2222bbbb"))
    assert first != second and set(first) == {"run_id", "corpus_md5"}
    runs, _ = record_run([], first, {"scores": {"pos_acc": 0.5}})
    runs, previous = record_run(runs, second, {"scores": {"pos_acc": 0.6}})
    assert previous["run_id"] == "1111aaaa" and len(runs) == 2 and "run 1111aaaa" in run_name(previous)
    legacy = history_key({"seed": 0, "max_steps": 200}, config, test)  # a summary from before run_id
    assert set(legacy) == {"config_md5", "max_steps", "seed", "corpus_md5"}


def test_headline_names_the_previous_run_and_has_no_empty_column():
    key = {"config_md5": "0123456789abcdef", "corpus_md5": "t", "max_steps": 300, "seed": 0}
    entry = {"base_config": "configs/base_config.cfg", "scores": {"pos_acc": 0.5}}
    runs, _ = record_run([], key, entry)
    _, previous = record_run(runs, {**key, "config_md5": "ff"}, {**entry, "scores": {"pos_acc": 0.6}})
    column = headline_head(previous)[3]
    assert column.startswith("previous run: ") and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", column)
    for part in ("configs/base_config.cfg", "max_steps 300", "seed 0", "config 01234567"):
        assert part in column, part
    assert headline_head(None)[3] == "previous run (none on this test set)"
    support = {"tokens": 10, "sentences": 1, "entities": 0}
    rows = headline_rows({"pos_acc": 0.9, "ents_f": None}, {"pos_acc": 0.95}, previous, support)
    assert rows == [["POS", "90.00", "95.00", "50.00", "+40.00"]] and len(headline_head(previous)) == 5
    big = {"tokens": MIN_OVERFIT_SUPPORT, "sentences": 1, "entities": 0}
    (row,) = headline_rows({"pos_acc": 0.7}, {"pos_acc": 0.95}, None, big)
    assert row[-1].startswith("⚠") and headline_head(None, noted=True)[-1] == "note"
    assert all(h for h in headline_head(previous)), "every column has a name"


def test_worst_parses_label_each_tree_beside_it_never_between_two_trees():
    parses = parse_figures(EXAMPLES)
    assert len(parses) == 1
    page = parse_pages_html(parses)
    # each rendering is a framed figure of its own: caption, then its tree, and nothing else inside; the CSS
    # lays the caption out to the tree's left, in one row, so no caption sits between two trees
    figures = re.findall(r"<figure class='tree (\w+)'><figcaption>([^<]*)</figcaption><div><svg.*?</svg></div></figure>", page, re.S)
    assert figures == [("gold", GOLD_CAPTION), ("pred", PRED_CAPTION)] and page.count("<svg") == 2
    from scripts.report import CSS

    assert "figure.tree{display:grid;grid-template-columns:" in CSS and "border-left" in CSS
    assert GOLD_CAPTION == "gold (annotation)" and PRED_CAPTION == "predicted (model)"
    md = "\n".join(parse_pages_md(parses))
    # in Markdown, a table row per tree: the caption in the same row as its rendering
    assert re.search(rf"\| {re.escape(GOLD_CAPTION)} \| !\[[^]]*\]\(report/worst-parse-1-gold\.svg\) \|", md)
    assert re.search(rf"\| {re.escape(PRED_CAPTION)} \| !\[[^]]*\]\(report/worst-parse-1-predicted\.svg\) \|", md)
    assert "| tree | rendering |" in md


def _log(steps):
    return [{"step": s, "losses": {"ner": 10.0 / (s + 1)}, "scores": {"ents_f": 40.0 + s / 10, "speed": 9000.0}, "score": 0.4 + s / 1000} for s in steps]


def test_a_short_log_gets_a_reason_instead_of_a_one_point_curve():
    short = _log([0, 200])
    note = curve_note(short)
    assert "2 evaluation(s)" in note and "steps: 0, 200" in note and f"at least {MIN_CURVE_POINTS}" in note
    assert learning_curves(short) is None
    assert curve_note(_log(range(0, 250, 50))) == "" and learning_curves(_log(range(0, 250, 50))).startswith(b"\x89PNG")


def test_dev_curves_are_all_in_percent():
    """spaCy's log holds the components' scores in percent and the weighted score as a fraction: one scale."""
    curves = dev_curves(_log([0, 100]))
    assert curves == {"ents_f": [40.0, 50.0], "score (weighted)": [40.0, 50.0]}, "speed is no score"


def test_loss_curve_leaves_out_step_0():
    log = [
        {"step": 0, "losses": {"tagger": 5000.0, "parser": 0.0}, "scores": {}, "score": 0.1},
        {"step": 200, "losses": {"tagger": 40.0, "parser": 80.0}, "scores": {}, "score": 0.5},
        {"step": 400, "losses": {"tagger": 20.0, "parser": 50.0}, "scores": {}, "score": 0.6},
    ]
    assert loss_curves(log) == {"tagger": ([200, 400], [40.0, 20.0]), "parser": ([200, 400], [80.0, 50.0])}
    assert loss_curves(log[:1]) == {"tagger": ([], []), "parser": ([], [])}


@pytest.mark.parametrize(
    "metric, unit", [("pos_acc", "tokens"), ("dep_las", "tokens"), ("sents_f", "sentences"), ("ents_f", "entities")]
)
def test_overfitting_flag_needs_a_test_set_large_enough(metric, unit):
    small = {"tokens": 0, "sentences": 0, "entities": 0, unit: MIN_OVERFIT_SUPPORT - 1}
    large = {"tokens": 0, "sentences": 0, "entities": 0, unit: MIN_OVERFIT_SUPPORT}
    assert overfit_flag(metric=metric, test=0.70, dev=0.90, support=small) == "", "tiny test set: the gap is noise"
    assert "overfitting" in overfit_flag(metric=metric, test=0.70, dev=0.90, support=large)
    assert overfit_flag(metric=metric, test=0.88, dev=0.90, support=large) == "", "small gap"
    assert overfit_flag(metric=metric, test=0.70, dev=None, support=large) == ""


# ---- the report rendered by the workflow -----------------------------------------------------------------------------


@pytest.fixture
def trained(sample_run) -> Path:
    return sample_run.path


@pytest.mark.slow
def test_report_numbers_equal_scores_json(trained):
    import srsly

    scores = srsly.read_json(trained / "metrics/scores.json")
    html = (trained / "metrics/report.html").read_text(encoding="utf8")
    md = (trained / "metrics/report.md").read_text(encoding="utf8")
    for key, name in (("pos_acc", "POS"), ("dep_las", "LAS"), ("ents_f", "NER F"), ("lemma_acc", "Lemma")):
        value = f"{100 * scores[key]:.2f}"
        assert re.search(rf"<td>{name}</td><td>{value}</td>", html), (name, value)
        assert f"| {name} | {value} |" in md
    for section in (
        "Scores on the test split",
        "Entities per label",
        "POS accuracy per tag",
        "Labelled attachment",
        "Entity errors",
        "Worst-parsed sentences",
        "Corpus",
        "Reproducibility",
        "data:image/png;base64,",
    ):
        assert section in html, section
    assert html.count("<svg") >= 2, "dependency error renders"
    for image in ("ner_confusion", "pos_confusion"):
        assert f"report/{image}.png" in md and (trained / f"metrics/report/{image}.png").stat().st_size > 5000
    # a curve from five evaluations or more, else the reason in both files and no one-point figure
    log = (trained / "training/log.jsonl").read_text(encoding="utf8").splitlines()
    curve = trained / "metrics/report/learning_curves.png"
    if len(log) >= MIN_CURVE_POINTS:
        assert "report/learning_curves.png" in md and curve.stat().st_size > 5000
    else:
        assert not curve.exists() and "No learning curves" in md and "No learning curves" in html


@pytest.mark.slow
def test_sample_report_labels_trees_and_compares_like_with_like(trained):
    import srsly

    html = (trained / "metrics/report.html").read_text(encoding="utf8")
    md = (trained / "metrics/report.md").read_text(encoding="utf8")
    # the sample's first run: no earlier run on its test set
    assert "<th>previous run (none on this test set)</th>" in html and "| previous run (none on this test set) |" in md
    # each worst-parse rendering captioned, in both files; the Markdown's renders are files beside it
    worst = html[html.index("Worst-parsed sentences") :]
    gold = re.findall(rf"<figcaption>{re.escape(GOLD_CAPTION)}</figcaption><div><svg", worst)
    pred = re.findall(rf"<figcaption>{re.escape(PRED_CAPTION)}</figcaption><div><svg", worst)
    assert len(gold) == len(pred) >= 1 and worst.count("<svg") == 2 * len(gold)
    svgs = re.findall(r"\(report/(worst-parse-\d+-(?:gold|predicted)\.svg)\)", md)
    assert len(svgs) == 2 * len(gold) and md.count(f"| {GOLD_CAPTION} | ![") == len(gold)
    assert all((trained / "metrics/report" / name).read_text(encoding="utf8").startswith("<svg") for name in svgs)
    # the sample's test split is far too small for a dev/test gap to mean overfitting
    test = srsly.read_json(trained / "corpus/stats.json")["splits"]["test"]
    assert max(test["tokens"], test["sentences"], test["entities"]) < MIN_OVERFIT_SUPPORT
    assert "overfitting" not in html and "overfitting" not in md
    # no empty column or header row: every header cell of every table has a name
    assert "<th></th>" not in html and not re.search(r"^\|( \|)+$", md, re.M)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install Debian's 'chromium' package (.ci/run does)")
def test_report_opens_in_chromium_with_its_images(trained, tmp_path):
    page = tmp_path / "page.html"
    # a copy of the report that records, once loaded, how many images decoded with a real size
    probe = (
        "<script>window.addEventListener('load',()=>{const ok=[...document.images]"
        ".filter(i=>i.complete&&i.naturalWidth>0).length;document.title='images:'+ok+'/'+document.images.length})</script>"
    )
    page.write_text((trained / "metrics/report.html").read_text(encoding="utf8").replace("</body>", probe + "</body>"))
    args = [CHROMIUM, *CHROME_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    dom = subprocess.run([*args, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    loaded, total = map(int, re.search(r"<title>images:(\d+)/(\d+)</title>", dom).groups())
    assert total >= 3 and loaded == total
    shot = tmp_path / "report.png"
    subprocess.run(
        [*args, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120
    )
    from PIL import Image

    image = Image.open(shot).convert("L")
    top, plot = image.crop((0, 0, 1200, 500)), image.crop((0, 500, 1200, 1100))
    assert top.getextrema()[0] < 100, "the headline table is drawn"
    assert len(plot.getcolors(maxcolors=100000)) > 50, "the learning-curve plot is drawn"
    Path(shot).replace(tmp_path / "kept.png")
