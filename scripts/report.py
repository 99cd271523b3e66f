"""Write metrics/report.html (self-contained) and metrics/report.md from a trained pipeline and its test scores.

Every score is shown in percent: metrics/scores.json and the records hold fractions (0–1), spaCy's training log
percentages for the components (0–100).
"""

from __future__ import annotations

import base64
import html
import io
import json
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Optional

import spacy
import srsly
import typer
from matplotlib.figure import Figure  # not pyplot: no backend to choose, no figure to close
from spacy import displacy
from spacy.tokens import DocBin
from spacy.training import Example
from tqdm import tqdm
from wasabi import MarkdownRenderer, msg

from pt_pipelines import scoring
from pt_pipelines.errors import step_errors
from pt_pipelines.files import checksum, write_json, write_text

HEADLINE = scoring.HEADLINE
OVERFIT_GAP = 0.05  # dev above test by more than this is flagged
# ...but only on a test set where a gap that size is more than noise: 0.05 is two standard errors of a score
# measured on n independent units when 2 * sqrt(p * (1 - p) / n) <= 0.05, which for the widest case (p = 0.5)
# takes n >= 400. Tokens of one sentence are not independent, so 400 tokens is a lower bound, not a generous one.
# The units are what the metric counts: entities for NER, sentences for sentence F, tokens for the rest.
MIN_OVERFIT_SUPPORT = 400
SUPPORT_UNIT = {"sents_f": "sentences", "ents_p": "entities", "ents_r": "entities", "ents_f": "entities"}
MAX_ENTITY_ERRORS, MAX_PARSE_ERRORS = 12, 5
MIN_CURVE_POINTS = 5  # fewer evaluations draw a line through a handful of points, not a learning curve
# every displaCy rendering carries one of these, so nobody reads the model's tree as the annotation
GOLD_CAPTION, PRED_CAPTION = "gold (annotation)", "predicted (model)"
NER_KEY = f"<p class='muted'>{scoring.MISSED}: gold entity with no prediction over the same characters; {scoring.SPURIOUS}: prediction with no gold entity there.</p>"
CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}thead{background:#f3f3f3}img{max-width:100%}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}.pair>div{overflow-x:auto;border:1px solid #eee;padding:.3em}
h3{margin-bottom:.2em}.muted{color:#777;font-size:.9em}
figure.tree{display:grid;grid-template-columns:8em 1fr;align-items:center;margin:.4em 0 1.2em;border-left:6px solid}
figure.tree>div{overflow-x:auto}figure.tree.gold{border-color:#e0a030}figure.tree.pred{border-color:#3b6fc4}
figcaption,.cap{font-weight:600;font-size:.95em;padding:.15em .5em;display:inline-block;border-radius:3px}
.gold figcaption,.cap.gold{background:#fdf0d5;color:#7a4b00}.pred figcaption,.cap.pred{background:#e2ecfb;color:#123f85}"""


def pct(value: Optional[float]) -> str:
    return "" if value is None else f"{100 * value:.2f}"


def predict(nlp, docs: list, interactive: bool) -> list[Example]:
    """Run the pipeline on the gold texts; progress bar on a terminal, one line per phase otherwise."""
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in docs]
    if not interactive:
        print(f"predicting {len(examples)} test documents", flush=True)
    preds = nlp.pipe((eg.predicted for eg in examples), batch_size=64)
    for eg, pred in zip(examples, tqdm(preds, total=len(examples), desc="predicting", disable=not interactive)):
        eg.predicted = pred
    return examples


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def loss_curves(log: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """Steps and losses per component for the loss plot, without the step-0 row: spaCy logs an evaluation after
    the very first update, so that row holds one batch's loss from untrained weights where every later row sums
    eval_frequency batches; on one axis it is an artefact, not a point of the curve."""
    rows = [row for row in log if row["step"] > 0]
    steps = [row["step"] for row in rows]
    components = log[-1]["losses"] if log else {}
    return {comp: (steps, [row["losses"].get(comp, 0.0) for row in rows]) for comp in components}


def curve_note(log: list[dict]) -> str:
    """Why the report draws no learning curves, or "" when the log has enough evaluations for one."""
    if len(log) >= MIN_CURVE_POINTS:
        return ""
    steps = ", ".join(str(row["step"]) for row in log) or "none"
    return (f"No learning curves: the training log has {len(log)} evaluation(s) (steps: {steps}), and a curve needs at "
            f"least {MIN_CURVE_POINTS}. Train for more steps or evaluate more often ([training] eval_frequency).")


def dev_curves(log: list[dict]) -> dict[str, list[float]]:
    """Dev scores in %: spaCy's logger writes the components' scores as percentages, the weighted one as a fraction."""
    keys = [k for k, v in log[-1]["scores"].items() if isinstance(v, (int, float)) and k != "speed"]
    curves = {k: [float(row["scores"].get(k) or 0.0) for row in log] for k in keys}
    return {**curves, "score (weighted)": [100 * row["score"] for row in log]}


def learning_curves(log: list[dict]) -> Optional[bytes]:
    """Loss per component (from the first full evaluation interval) and dev score (%) per evaluation step."""
    if curve_note(log):
        return None
    steps = [row["step"] for row in log]
    ax1, ax2 = Figure(figsize=(11, 3.8)).subplots(1, 2, sharex=True)
    losses = loss_curves(log)
    for comp, (loss_steps, values) in losses.items():
        ax1.plot(loss_steps, values, label=comp, marker=".")
    # log scale labels its ticks even within one decade; symlog (no labels there) only when a loss is 0
    positive = all(v > 0 for _, values in losses.values() for v in values)
    ax1.set(title="Training loss (since previous evaluation)", xlabel="step", yscale="log" if positive else "symlog")
    ax1.legend(fontsize=8)
    for key, values in dev_curves(log).items():
        weighted = key == "score (weighted)"
        ax2.plot(steps, values, label=key, **({"color": "black", "linewidth": 2} if weighted else {"marker": "."}))
    ax2.set(title="Dev scores (%)", xlabel="step", ylabel="%", ylim=(0, 100))
    ax2.legend(fontsize=7, ncol=2)
    return png(ax2.figure)


def heatmap(counts, title: str) -> Optional[bytes]:
    if not counts:
        return None
    rows, cols, matrix = scoring.confusion_matrix(counts)
    ax = Figure(figsize=(max(4, 0.55 * len(cols) + 2), max(3, 0.45 * len(rows) + 1.5))).subplots()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set(xlabel="predicted", ylabel="gold", title=title)
    peak = max(max(r) for r in matrix) or 1
    for i, j, n in ((i, j, n) for i, row in enumerate(matrix) for j, n in enumerate(row) if n):
        ax.text(j, i, str(n), ha="center", va="center", fontsize=7, color="white" if n > peak / 2 else "black")
    return png(ax.figure)


def table_md(head: list[str], rows: list[list[Any]]) -> str:
    return MarkdownRenderer().table([[str(c).replace("|", "\\|") for c in row] for row in rows], head)


def record_run(runs: list[dict], key: dict[str, Any], entry: dict[str, Any]) -> tuple[list[dict], Optional[dict]]:
    """The history with entry recorded under key (replacing a run with the same key), and the latest other run on
    the same test corpus (key["corpus_md5"]): scores on another test set do not compare."""
    others = [r for r in runs if any(r.get(k) != v for k, v in key.items())]
    comparable = [r for r in others if r.get("corpus_md5") == key["corpus_md5"]]
    entry = {**key, **entry, "time": entry.get("time") or time.strftime("%Y-%m-%d %H:%M:%S")}
    return [*others, entry], (comparable[-1] if comparable else None)


def history_key(summary: dict, config: Path, test: Path) -> dict[str, Any]:
    """What tells runs apart: train's run_id (its complete filled config and data) where the summary has one,
    else the filled config's md5, step limit and seed; always with the test corpus, which makes scores compare."""
    keys = ({"run_id": summary["run_id"]} if summary.get("run_id") else
            {"config_md5": checksum(config), "max_steps": summary.get("max_steps"), "seed": summary.get("seed")})
    return {**keys, "corpus_md5": checksum(test)}


def run_name(run: dict) -> str:
    """A history entry in a few words: when, which base config, step limit and seed, which run or config."""
    limit = run.get("max_steps")  # as results records name it (0: until patience stopped it)
    parts = [run.get("time", "")[:16], run.get("base_config") or "",
             f"max_steps {limit}" if limit else "no step limit" if limit == 0 else "",
             f"seed {run['seed']}" if run.get("seed") is not None else "",
             f"run {run['run_id'][:8]}" if run.get("run_id") else "",
             f"config {run['config_md5'][:8]}" if run.get("config_md5") else ""]
    return ", ".join(p for p in parts if p)


def headline_head(previous: Optional[dict], noted: bool = False) -> list[str]:
    """The headline's column names; the previous-run column names the run it shows, a note column only if needed."""
    prev = f"previous run: {run_name(previous)}" if previous else "previous run (none on this test set)"
    return ["metric (%)", "test", "dev (model-best)", prev, "Δ test", *(["note"] if noted else [])]


def gold_support(docs: list) -> dict[str, int]:
    """How many tokens, sentences and entities the gold test docs hold: what each headline score is measured on."""
    sents = sum(len(list(doc.sents)) if doc.has_annotation("SENT_START") else 1 for doc in docs)
    return {"tokens": sum(len(doc) for doc in docs), "sentences": sents, "entities": sum(len(doc.ents) for doc in docs)}


def overfit_flag(*, metric: str, test: float, dev: Optional[float], support: dict[str, int]) -> str:
    """The overfitting warning, or "" when dev is not much higher or the test set is too small for the gap to matter."""
    enough = support.get(SUPPORT_UNIT.get(metric, "tokens"), 0) >= MIN_OVERFIT_SUPPORT
    return "⚠ dev much higher: overfitting?" if dev is not None and dev - test > OVERFIT_GAP and enough else ""


def headline_rows(scores: dict, dev: dict, previous: Optional[dict], support: dict[str, int]) -> list[list[str]]:
    """One row per headline score: test, dev, previous run and Δ in percent, and a note column only if one has a note."""
    rows = []
    for key in (k for k in HEADLINE if scores.get(k) is not None):
        test_v, dev_v = scores[key], dev.get(key)
        prev_v = previous["scores"].get(key) if previous else None
        delta = f"{100 * (test_v - prev_v):+.2f}" if prev_v is not None else ""
        note = overfit_flag(metric=key, test=test_v, dev=dev_v, support=support)
        rows.append([HEADLINE[key], pct(test_v), pct(dev_v), pct(prev_v), delta, note])
    return rows if any(r[-1] for r in rows) else [r[:-1] for r in rows]


@dataclass
class Table:
    title: str
    head: list[str]
    rows: list[list[Any]]
    image: str = ""  # the figure shown under the table, a key of Report.images


@dataclass
class ParseFigure:
    las: float
    text: str
    gold_svg: str
    pred_svg: str


@dataclass
class Report:
    """Everything the report shows, computed once; `write` renders it into files."""

    model: Path
    history: dict[str, Any]  # the runs, this one recorded: history.json
    tables: dict[str, Table]
    images: dict[str, bytes]
    curve_note: str
    entity_pairs: list[tuple[Any, Any]] = field(default_factory=list)  # (gold, predicted) sentence docs
    parses: list[ParseFigure] = field(default_factory=list)


def footer_rows(key: dict, summary: dict, stats: dict, scores: dict, seconds: float) -> list[list[Any]]:
    run = [["run id", key["run_id"]]] if "run_id" in key else [["config.cfg md5", key.get("config_md5")]]
    return [["spaCy", spacy.__version__], ["weasel", version("weasel")], ["Python", platform.python_version()], *run,
            ["seed", summary.get("seed")], ["test corpus md5", key["corpus_md5"]],
            *[[f"{split} source md5", md5] for split, md5 in stats.get("checksums", {}).items()],
            *[[f"wall time: {step}", f"{s:.1f} s"] for step, s in (("convert", stats.get("seconds", 0)),
              ("train", summary.get("seconds", 0)), ("evaluate", scores.get("seconds", 0)), ("report", seconds))],
            ["training steps", summary.get("steps")], ["machine", f"{platform.machine()}, {platform.system()}"]]


def compute(model: Path, test: Path, paths: dict[str, Path], history: Path, interactive: bool = False) -> Report:
    """Every table, figure and error page of the report, and the history with this run recorded; writes nothing."""
    started = time.perf_counter()
    nlp = spacy.load(model)
    gold = list(DocBin().from_disk(test).get_docs(nlp.vocab))
    scores, stats, summary = (srsly.read_json(paths[k]) for k in ("scores", "stats", "summary"))
    log = [json.loads(line) for line in paths["log"].read_text(encoding="utf8").splitlines() if line.strip()]
    examples = predict(nlp, gold, interactive)
    key = history_key(summary, paths["config"], test)
    # fill_config.py keeps the base config in [paths]: the run's name in a later report
    base = spacy.util.load_config(paths["config"], interpolate=False).get("paths", {}).get("base_config")
    entry = {"base_config": base, "max_steps": summary.get("max_steps"), "seed": summary.get("seed"),
             "scores": {k: scores[k] for k in HEADLINE if scores.get(k) is not None}}
    runs = json.loads(history.read_text(encoding="utf8"))["runs"] if history.exists() else []
    runs, previous = record_run(runs, key, entry)
    headline = headline_rows(scores, srsly.read_json(model / "meta.json").get("performance", {}), previous, gold_support(gold))
    ner, (pos, pos_conf), deps = scoring.ner_per_label(examples), scoring.pos_per_tag(examples), scoring.las_per_deprel(examples)
    images = {"learning_curves": learning_curves(log),
              "ner_confusion": heatmap(scoring.ner_confusion(examples), "NER: gold vs predicted entities") if ner else None,
              "pos_confusion": heatmap(pos_conf, "POS: gold vs predicted") if pos else None}
    tables = {
        "headline": Table("Scores on the test split, in %", headline_head(previous, any(len(r) > 5 for r in headline)), headline),
        "ner": Table("Entities per label, in % (worst F first)", ["label", "P", "R", "F", "support", "TP", "FP", "FN"],
                     [[s.label, pct(s.p), pct(s.r), pct(s.f), s.support, s.tp, s.fp, s.fn] for s in ner], "ner_confusion"),
        "pos": Table("POS accuracy per tag, in % (worst first)", ["UPOS", "accuracy", "support"],
                     [[tag, pct(acc), n] for tag, (acc, n) in pos.items()], "pos_confusion"),
        "deps": Table("Labelled attachment per relation, in % (worst first)", ["relation", "LAS", "support"],
                      [[dep, pct(acc), n] for dep, (acc, n) in deps.items()]),
        "corpus": Table("Corpus", ["split", "documents", "sentences", "tokens", "entities", "per label"], [
            [split, s["documents"], s["sentences"], s["tokens"], s["entities"],
             ", ".join(f"{k} {v}" for k, v in s["entities_per_label"].items())] for split, s in stats["splits"].items()]),
    }
    pairs = [_sentence_pair(examples[e.example], e.start, e.end) for e in scoring.entity_errors(examples, MAX_ENTITY_ERRORS)]
    report = Report(model, {"runs": runs}, tables,
                    {k: v for k, v in images.items() if v}, curve_note(log), pairs, parse_figures(examples))
    seconds = time.perf_counter() - started
    tables["footer"] = Table("Reproducibility", ["item", "value"], footer_rows(key, summary, stats, scores, seconds))
    return report


def write(report: Report, output_dir: Path) -> None:
    """report.html, report.md, report/*.png and *.svg, and history.json."""
    img_dir = output_dir / "report"
    img_dir.mkdir(parents=True, exist_ok=True)
    # figures of an earlier run (a component since removed, more worst parses) must not linger beside these
    for stale in [*img_dir.glob("*.png"), *img_dir.glob("worst-parse-*.svg")]:
        stale.unlink()
    for name, data in report.images.items():
        (img_dir / f"{name}.png").write_bytes(data)
    for i, fig in enumerate(report.parses, 1):
        for which, svg in (("gold", fig.gold_svg), ("predicted", fig.pred_svg)):
            write_text(img_dir / f"worst-parse-{i}-{which}.svg", svg)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\[W006\]")  # a sentence without entities is a valid render
        write_text(output_dir / "report.html", render_html(report))
    write_text(output_dir / "report.md", render_md(report))
    write_json(output_dir / "history.json", report.history)


def _sentence_pair(eg: Example, start: int, end: int) -> tuple:
    gold = eg.reference[start:end]
    pred = eg.predicted.char_span(gold.start_char, gold.end_char, alignment_mode="expand")
    # never fall back to the gold sentence: it would be shown captioned as the model's
    return gold.as_doc(), (pred.as_doc() if pred is not None else eg.predicted)


def parse_figures(examples: list[Example]) -> list[ParseFigure]:
    """displaCy dependency renders of the worst-parsed test sentences, gold and predicted."""
    options = {"compact": True, "distance": 85}
    render = lambda doc: displacy.render(doc, style="dep", page=False, options=options)  # noqa: E731
    pairs = [(err.las, *_sentence_pair(examples[err.example], err.start, err.end))
             for err in scoring.worst_parses(examples, MAX_PARSE_ERRORS)]
    return [ParseFigure(las, gold.text.strip(), render(gold), render(pred)) for las, gold, pred in pairs]


def parse_pages_html(parses: list[ParseFigure]) -> str:
    """The worst parses: each rendering in its own framed figure with its caption to its left, in the same row,
    so that a caption cannot be read as the label of the tree above or below it."""
    parts = ["<h2>Worst-parsed sentences: gold, then predicted</h2>"] if parses else []
    for fig in parses:
        parts.append(f"<h3>LAS {pct(fig.las)}%: {html.escape(fig.text)}</h3>")
        for cls, caption, svg in (("gold", GOLD_CAPTION, fig.gold_svg), ("pred", PRED_CAPTION, fig.pred_svg)):
            parts.append(f"<figure class='tree {cls}'><figcaption>{caption}</figcaption><div>{svg}</div></figure>")
    return "\n".join(parts)


def parse_pages_md(parses: list[ParseFigure]) -> list[str]:
    """The worst parses for report.md, one table per sentence: each rendering in a row with its caption."""
    out = ["## Worst-parsed sentences: gold, then predicted", ""] if parses else []
    for i, fig in enumerate(parses, 1):
        rows = [[cap, f"![{cap}, sentence {i}](report/worst-parse-{i}-{which}.svg)"]
                for which, cap in (("gold", GOLD_CAPTION), ("predicted", PRED_CAPTION))]
        out += [f"### {i}. LAS {pct(fig.las)}%: {fig.text}", "", table_md(["tree", "rendering"], rows), ""]
    return out


def render_html(report: Report) -> str:
    def img(name: str) -> str:
        data = base64.b64encode(report.images.get(name, b"")).decode()
        return f'<p><img alt="{name}" src="data:image/png;base64,{data}"></p>' if data else ""

    def table(key: str) -> str:
        t = report.tables[key]
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in t.head)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in t.rows)
        grid = f'<table class="{key}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        extra = NER_KEY if key == "ner" else ""
        return f"<h2>{t.title}</h2>" + grid + img(t.image) + extra if t.rows else ""

    note = f"<p class='muted'>{html.escape(report.curve_note)}</p>" if report.curve_note else ""
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Pipeline report</title><style>{CSS}</style></head><body>",
        f"<h1>Pipeline report</h1><p class='muted'>{html.escape(str(report.model))}</p>",
        table("headline"), "<h2>Training</h2>" + img("learning_curves") + note, table("ner"), table("pos"), table("deps"),
    ]
    if report.entity_pairs:
        parts.append("<h2>Entity errors: gold | predicted</h2>")
        for gold, pred in report.entity_pairs:
            g, p = (displacy.render(doc, style="ent", page=False) for doc in (gold, pred))
            parts.append(f"<div class='pair'><div><span class='cap gold'>{GOLD_CAPTION}</span>{g}</div>"
                         f"<div><span class='cap pred'>{PRED_CAPTION}</span>{p}</div></div>")
    parts += [parse_pages_html(report.parses), table("corpus"), table("footer"), "</body></html>"]
    return "\n".join(p for p in parts if p)


def render_md(report: Report) -> str:
    out = ["# Pipeline report", "", "`report.html` beside this file has the same, with entity renders and figures inline.", ""]

    def add(key: str) -> None:
        t = report.tables[key]
        if t.rows:
            out.extend([f"## {t.title}", "", table_md(t.head, t.rows), ""])
        if t.image in report.images:
            out.extend([f"![{t.image}](report/{t.image}.png)", ""])

    add("headline")
    curves = "![learning curves](report/learning_curves.png)" if "learning_curves" in report.images else report.curve_note
    out.extend(["## Training", "", curves, ""])
    for key in ("ner", "pos", "deps"):
        add(key)
    if report.entity_pairs:
        rows = [[gold.text, *(", ".join(f"{e.text} ({e.label_})" for e in doc.ents) or "—" for doc in (gold, pred))]
                for gold, pred in report.entity_pairs]
        out.extend(["## Entity errors", "", table_md(["sentence", GOLD_CAPTION, PRED_CAPTION], rows), ""])
    out.extend(parse_pages_md(report.parses))
    add("corpus"), add("footer")
    return "\n".join(out) + "\n"


def main(
    model: Path = typer.Argument(..., exists=True, help="Trained pipeline (model-best)"),
    test: Path = typer.Argument(..., exists=True, help="Test .spacy file"),
    scores: Path = typer.Option(Path("metrics/scores.json"), exists=True, help="Scores written by evaluate"),
    log: Path = typer.Option(Path("training/log.jsonl"), exists=True, help="JSONL training log"),
    stats: Path = typer.Option(Path("corpus/stats.json"), exists=True, help="Corpus statistics from convert"),
    summary: Path = typer.Option(Path("training/train-summary.json"), exists=True, help="Training summary"),
    config: Path = typer.Option(Path("configs/config.cfg"), exists=True, help="The training config"),
    output_dir: Path = typer.Option(Path("metrics"), help="Where report.html, report.md, report/ and history.json go"),
) -> None:
    """Write the HTML and Markdown evaluation report."""
    paths = {"scores": scores, "log": log, "stats": stats, "summary": summary, "config": config}
    with step_errors():
        report = compute(model, test, paths, output_dir / "history.json", interactive=sys.stderr.isatty())
        write(report, output_dir)
    headline = report.tables["headline"]
    msg.table([row[:5] for row in headline.rows], header=headline.head[:5], divider=True, aligns=("l", "r", "r", "r", "r"))
    if report.curve_note:
        msg.warn(report.curve_note)
    msg.good(f"{output_dir / 'report.html'}, {output_dir / 'report.md'}")


if __name__ == "__main__":
    typer.run(main)
