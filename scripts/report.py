"""Write metrics/report.html (self-contained) and metrics/report.md from a trained pipeline and its test scores.

Headline scores (test next to model-best's dev scores and the previous run on the same test set), per-label NER,
per-POS and per-relation tables, confusion heatmaps, learning curves, displaCy error pages (gold annotation and
model prediction captioned as such), corpus statistics and a reproducibility footer. Figures are computed from the pipeline's predictions on the test split; the
headline comes from metrics/scores.json, so the two always agree with `evaluate`.
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
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import spacy  # noqa: E402
import srsly  # noqa: E402
import typer  # noqa: E402
from spacy import displacy  # noqa: E402
from spacy.tokens import DocBin  # noqa: E402
from spacy.training import Example  # noqa: E402
from tqdm import tqdm  # noqa: E402
from wasabi import msg  # noqa: E402

from pt_pipelines.files import checksum, write_json, write_text  # noqa: E402
from pt_pipelines.scoring import (  # noqa: E402
    MISSED,
    SPURIOUS,
    confusion_matrix,
    entity_errors,
    las_per_deprel,
    ner_confusion,
    ner_per_label,
    pos_per_tag,
    worst_parses,
)

HEADLINE = [
    ("token_acc", "Tokens"),
    ("pos_acc", "POS"),
    ("morph_acc", "Morphology"),
    ("lemma_acc", "Lemma"),
    ("dep_uas", "UAS"),
    ("dep_las", "LAS"),
    ("sents_f", "Sentences F"),
    ("ents_p", "NER P"),
    ("ents_r", "NER R"),
    ("ents_f", "NER F"),
]
OVERFIT_GAP = 0.05  # dev above test by more than this is flagged
# ...but only on a test set where a gap that size is more than noise: 0.05 is two standard errors of a score
# measured on n independent units when 2 * sqrt(p * (1 - p) / n) <= 0.05, which for the widest case (p = 0.5)
# takes n >= 400. Tokens of one sentence are not independent, so 400 tokens is a lower bound, not a generous one.
# The units are what the metric counts: entities for NER, sentences for sentence F, tokens for the rest.
MIN_OVERFIT_SUPPORT = 400
SUPPORT_UNIT = {"sents_f": "sentences", "ents_p": "entities", "ents_r": "entities", "ents_f": "entities"}
MAX_ENTITY_ERRORS, MAX_PARSE_ERRORS = 12, 5
# every displaCy rendering carries one of these, so nobody reads the model's tree as the annotation
GOLD_CAPTION, PRED_CAPTION = "gold (annotation)", "predicted (model)"


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


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def loss_curves(log: list[dict]) -> dict[str, tuple[list[int], list[float]]]:
    """Steps and losses per component for the loss plot, without the step-0 row: spaCy logs an evaluation after
    the very first update, so that row holds one batch's loss from untrained weights where every later row sums
    eval_frequency batches; on one axis it is an artefact, not a point of the curve."""
    rows = [row for row in log if row["step"] > 0]
    components = log[-1]["losses"] if log else {}
    return {
        comp: ([row["step"] for row in rows], [row["losses"].get(comp, 0.0) for row in rows]) for comp in components
    }


def learning_curves(log: list[dict]) -> Optional[bytes]:
    """Loss per component (from the first full evaluation interval) and dev score per evaluation step."""
    if not log:
        return None
    steps = [row["step"] for row in log]
    # one step axis for both plots: the loss curve starts later (no step 0) and may be a single point
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), sharex=True)
    losses = loss_curves(log)
    for comp, (loss_steps, values) in losses.items():
        ax1.plot(loss_steps, values, label=comp, marker=".")
    # log scale labels its ticks even within one decade; symlog (no labels there) only when a loss is 0
    positive = all(v > 0 for _, values in losses.values() for v in values)
    ax1.set(title="Training loss (since previous evaluation)", xlabel="step", yscale="log" if positive else "symlog")
    if any(loss_steps for loss_steps, _ in losses.values()):
        ax1.legend(fontsize=8)
    else:
        ax1.text(0.5, 0.5, "no evaluation after step 0", ha="center", va="center", transform=ax1.transAxes)
    for key, value in log[-1]["scores"].items():
        if isinstance(value, (int, float)) and not key.endswith(("_per_type", "_per_feat")):
            # spaCy's console logger writes the component scores as percentages, the weighted score as a fraction
            ax2.plot(steps, [(row["scores"].get(key) or 0.0) / 100 for row in log], label=key, marker=".")
    ax2.plot(steps, [row["score"] for row in log], label="score (weighted)", color="black", linewidth=2)
    ax2.set(title="Dev scores", xlabel="step", ylim=(0, 1))
    ax2.legend(fontsize=7, ncol=2)
    return png(fig)


def heatmap(counts, title: str) -> Optional[bytes]:
    if not counts:
        return None
    rows, cols, matrix = confusion_matrix(counts)
    fig, ax = plt.subplots(figsize=(max(4, 0.55 * len(cols) + 2), max(3, 0.45 * len(rows) + 1.5)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set(xlabel="predicted", ylabel="gold", title=title)
    peak = max(max(r) for r in matrix) or 1
    for i, row in enumerate(matrix):
        for j, n in enumerate(row):
            if n:
                ax.text(j, i, str(n), ha="center", va="center", fontsize=7, color="white" if n > peak / 2 else "black")
    return png(fig)


def table_html(head: list[str], rows: list[list[Any]], cls: str = "") -> str:
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>'


def table_md(head: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def update_history(
    path: Path, *, key: dict[str, Any], scores: dict[str, float], about: Optional[dict[str, Any]] = None
) -> Optional[dict]:
    """Record this run's scores (and `about`, what names it) under key, replacing a run with the same key; return
    the latest other run on the same test corpus (key["corpus_md5"]): scores on another test set do not compare."""
    runs = json.loads(path.read_text(encoding="utf8"))["runs"] if path.exists() else []
    same = lambda run: all(run.get(k) == v for k, v in key.items())  # noqa: E731
    comparable = [run for run in runs if run.get("corpus_md5") == key["corpus_md5"] and not same(run)]
    previous = comparable[-1] if comparable else None
    runs = [run for run in runs if not same(run)] + [
        {**key, **(about or {}), "time": time.strftime("%Y-%m-%d %H:%M:%S"), "scores": scores}
    ]
    write_json(path, {"runs": runs})
    return previous


def run_name(run: dict) -> str:
    """A history entry in a few words: when, which base config, step limit and seed, which filled config."""
    limit = run.get("max_steps")  # as results records name it (0: until patience stopped it)
    parts = [
        run.get("time", "")[:16],
        run.get("base_config") or "",
        f"max_steps {limit}" if limit else "no step limit" if limit == 0 else "",
        f"seed {run['seed']}" if run.get("seed") is not None else "",
        f"config {run['config_md5'][:8]}" if run.get("config_md5") else "",
    ]
    return ", ".join(p for p in parts if p)


def headline_head(previous: Optional[dict]) -> list[str]:
    """The headline's column names; the previous-run column names the run it shows."""
    prev = f"previous run: {run_name(previous)}" if previous else "previous run (none on this test set)"
    return ["metric", "test", "dev (model-best)", prev, "Δ test", ""]


def gold_support(docs: list) -> dict[str, int]:
    """How many tokens, sentences and entities the gold test docs hold: what each headline score is measured on."""
    return {
        "tokens": sum(len(doc) for doc in docs),
        "sentences": sum(len(list(doc.sents)) if doc.has_annotation("SENT_START") else 1 for doc in docs),
        "entities": sum(len(doc.ents) for doc in docs),
    }


def overfit_flag(*, metric: str, test: float, dev: Optional[float], support: dict[str, int]) -> str:
    """The overfitting warning for one headline score, or "" when dev is not much higher or the test set is too
    small for the gap to mean anything (MIN_OVERFIT_SUPPORT)."""
    if dev is None or dev - test <= OVERFIT_GAP:
        return ""
    if support.get(SUPPORT_UNIT.get(metric, "tokens"), 0) < MIN_OVERFIT_SUPPORT:
        return ""
    return "⚠ dev much higher: overfitting?"


def build(
    model: Path,
    test: Path,
    scores_path: Path,
    log_path: Path,
    stats_path: Path,
    summary_path: Path,
    config: Path,
    output_dir: Path,
    interactive: bool = False,
) -> dict:
    """Compute everything, write report.html, report.md, report/*.png and history.json; return the sections."""
    # long: the report's sections one after another, each a few lines
    started = time.perf_counter()
    nlp = spacy.load(model)
    gold = list(DocBin().from_disk(test).get_docs(nlp.vocab))
    scores = json.loads(scores_path.read_text(encoding="utf8"))
    dev = srsly.read_json(model / "meta.json").get("performance", {})
    log = [json.loads(line) for line in log_path.read_text(encoding="utf8").splitlines() if line.strip()]
    stats = srsly.read_json(stats_path)
    summary = srsly.read_json(summary_path)
    examples = predict(nlp, gold, interactive)

    headline_keys = [(k, name) for k, name in HEADLINE if scores.get(k) is not None]
    # a run is its filled config, test corpus, step limit and seed; a rerun of the same replaces its entry
    history_key = {
        "config_md5": checksum(config),
        "corpus_md5": checksum(test),
        "max_steps": summary.get("max_steps"),
        "seed": summary.get("seed"),
    }
    # fill_config.py keeps the base config in [paths]: the run's name in a later report
    about = {"base_config": spacy.util.load_config(config, interpolate=False).get("paths", {}).get("base_config")}
    previous = update_history(
        output_dir / "history.json", key=history_key, scores={k: scores[k] for k, _ in headline_keys}, about=about
    )
    support = gold_support(gold)
    headline = []
    for key, name in headline_keys:
        test_v, dev_v = scores[key], dev.get(key)
        prev_v = previous["scores"].get(key) if previous else None
        flag = overfit_flag(metric=key, test=test_v, dev=dev_v, support=support)
        delta = f"{100 * (test_v - prev_v):+.2f}" if prev_v is not None else ""
        headline.append([name, pct(test_v), pct(dev_v), pct(prev_v), delta, flag])
    ner = ner_per_label(examples)
    pos, pos_conf = pos_per_tag(examples)
    deps = las_per_deprel(examples)
    images = {
        "learning_curves": learning_curves(log),
        "ner_confusion": heatmap(ner_confusion(examples), "NER: gold vs predicted entities") if ner else None,
        "pos_confusion": heatmap(pos_conf, "POS: gold vs predicted") if pos else None,
    }
    images = {k: v for k, v in images.items() if v}
    img_dir = output_dir / "report"
    img_dir.mkdir(parents=True, exist_ok=True)
    # figures of an earlier run (a component since removed, more worst parses) must not linger beside these
    for stale in [*img_dir.glob("*.png"), *img_dir.glob("worst-parse-*.svg")]:
        stale.unlink()
    for name, data in images.items():
        (img_dir / f"{name}.png").write_bytes(data)
    parses = parse_figures(examples)
    for i, fig in enumerate(parses, 1):
        for which, svg in (("gold", fig.gold_svg), ("predicted", fig.pred_svg)):
            write_text(img_dir / f"worst-parse-{i}-{which}.svg", svg)

    sections: dict[str, Any] = {
        "previous_run": previous,
        "headline": headline,
        "ner": [[s.label, pct(s.p), pct(s.r), pct(s.f), s.support, s.tp, s.fp, s.fn] for s in ner],
        "pos": [[tag, pct(acc), n] for tag, (acc, n) in pos.items()],
        "deps": [[dep, pct(acc), n] for dep, (acc, n) in deps.items()],
        "corpus": [
            [
                split,
                s["documents"],
                s["sentences"],
                s["tokens"],
                s["entities"],
                ", ".join(f"{k} {v}" for k, v in s["entities_per_label"].items()),
            ]
            for split, s in stats["splits"].items()
        ],
    }
    seconds = time.perf_counter() - started
    footer = [
        ["spaCy", spacy.__version__],
        ["weasel", version("weasel")],
        ["Python", platform.python_version()],
        ["config.cfg md5", history_key["config_md5"]],
        ["seed", summary.get("seed")],
        ["test corpus md5", history_key["corpus_md5"]],
        *[[f"{split} source md5", md5] for split, md5 in stats.get("checksums", {}).items()],
        ["wall time: convert", f"{stats.get('seconds', 0):.1f} s"],
        ["wall time: train", f"{summary.get('seconds', 0):.1f} s"],
        ["wall time: evaluate", f"{scores.get('seconds', 0):.1f} s"],
        ["wall time: report", f"{seconds:.1f} s"],
        ["training steps", summary.get("steps")],
        ["machine", f"{platform.machine()}, {platform.system()}"],
    ]
    sections["footer"] = footer
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\[W006\]")  # a sentence without entities is a valid render
        write_text(output_dir / "report.html", render_html(sections, images, examples, model, parses))
    write_text(output_dir / "report.md", render_md(sections, images, examples, parses))
    return sections


HEADS = {
    "ner": ["label", "P", "R", "F", "support", "TP", "FP", "FN"],
    "pos": ["UPOS", "accuracy", "support"],
    "deps": ["relation", "LAS", "support"],
    "corpus": ["split", "documents", "sentences", "tokens", "entities", "per label"],
    "footer": ["", ""],
}
TITLES = {
    "headline": "Scores on the test split",
    "ner": "Entities per label (worst F first)",
    "pos": "POS accuracy per tag (worst first)",
    "deps": "Labelled attachment per relation (worst first)",
    "corpus": "Corpus",
    "footer": "Reproducibility",
}
CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}thead{background:#f3f3f3}img{max-width:100%}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}.pair>div{overflow-x:auto;border:1px solid #eee;padding:.3em}
h3{margin-bottom:.2em}.muted{color:#777;font-size:.9em}figure{margin:.4em 0 1em;overflow-x:auto}
figcaption,.cap{font-weight:600;font-size:.95em;padding:.15em .5em;display:inline-block;border-radius:3px}
.gold{background:#fdf0d5;color:#7a4b00}.pred{background:#e2ecfb;color:#123f85}"""


def _sentence_pair(eg: Example, start: int, end: int) -> tuple:
    gold = eg.reference[start:end]
    pred = eg.predicted.char_span(gold.start_char, gold.end_char, alignment_mode="expand")
    # never fall back to the gold sentence: it would be shown captioned as the model's
    return gold.as_doc(), (pred.as_doc() if pred is not None else eg.predicted)


@dataclass
class ParseFigure:
    las: float
    text: str
    gold_svg: str
    pred_svg: str


def parse_figures(examples: list[Example]) -> list[ParseFigure]:
    """displaCy dependency renders of the worst-parsed test sentences, gold and predicted."""
    options = {"compact": True, "distance": 85}
    figures = []
    for err in worst_parses(examples, MAX_PARSE_ERRORS):
        gold, pred = _sentence_pair(examples[err.example], err.start, err.end)
        render = lambda doc: displacy.render(doc, style="dep", page=False, options=options)  # noqa: E731
        figures.append(ParseFigure(err.las, gold.text.strip(), render(gold), render(pred)))
    return figures


def parse_pages_html(parses: list[ParseFigure]) -> str:
    """The worst parses, each rendering in a figure captioned gold (annotation) or predicted (model)."""
    if not parses:
        return ""
    parts = ["<h2>Worst-parsed sentences: gold, then predicted</h2>"]
    for fig in parses:
        parts.append(
            f"<h3>LAS {pct(fig.las)}: {html.escape(fig.text)}</h3>"
            f"<figure class='tree'><figcaption class='gold'>{GOLD_CAPTION}</figcaption>{fig.gold_svg}</figure>"
            f"<figure class='tree'><figcaption class='pred'>{PRED_CAPTION}</figcaption>{fig.pred_svg}</figure>"
        )
    return "\n".join(parts)


def parse_pages_md(parses: list[ParseFigure]) -> list[str]:
    """The worst parses for report.md: the renders are report/worst-parse-<n>-gold.svg and -predicted.svg."""
    if not parses:
        return []
    out = ["## Worst-parsed sentences: gold, then predicted", ""]
    for i, fig in enumerate(parses, 1):
        out += [f"### {i}. LAS {pct(fig.las)}: {fig.text}", ""]
        for which, caption in (("gold", GOLD_CAPTION), ("predicted", PRED_CAPTION)):
            out += [f"**{caption}**", "", f"![{caption}, sentence {i}](report/worst-parse-{i}-{which}.svg)", ""]
    return out


def _ents_text(doc) -> str:
    return ", ".join(f"{e.text} ({e.label_})" for e in doc.ents) or "—"


def render_html(
    sections: dict, images: dict[str, bytes], examples: list[Example], model: Path, parses: list[ParseFigure]
) -> str:
    def img(name: str) -> str:
        if name not in images:
            return ""
        data = base64.b64encode(images[name]).decode()
        return f'<p><img alt="{name}" src="data:image/png;base64,{data}"></p>'

    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Pipeline report</title><style>{CSS}</style></head><body>",
        f"<h1>Pipeline report</h1><p class='muted'>{html.escape(str(model))}</p>",
    ]
    head = headline_head(sections["previous_run"])
    parts.append(f"<h2>{TITLES['headline']}</h2>" + table_html(head, sections["headline"], "headline"))
    parts.append("<h2>Training</h2>" + img("learning_curves"))
    if sections["ner"]:
        parts.append(
            f"<h2>{TITLES['ner']}</h2>"
            + table_html(HEADS["ner"], sections["ner"])
            + img("ner_confusion")
            + f"<p class='muted'>{MISSED}: gold entity with no prediction over the same characters; "
            f"{SPURIOUS}: prediction with no gold entity there.</p>"
        )
    if sections["pos"]:
        parts.append(f"<h2>{TITLES['pos']}</h2>" + table_html(HEADS["pos"], sections["pos"]) + img("pos_confusion"))
    if sections["deps"]:
        parts.append(f"<h2>{TITLES['deps']}</h2>" + table_html(HEADS["deps"], sections["deps"]))
    ent_errors = entity_errors(examples, MAX_ENTITY_ERRORS)
    if ent_errors:
        parts.append("<h2>Entity errors: gold | predicted</h2>")
        for err in ent_errors:
            gold, pred = _sentence_pair(examples[err.example], err.start, err.end)
            parts.append(
                f"<div class='pair'><div><span class='cap gold'>{GOLD_CAPTION}</span>"
                + displacy.render(gold, style="ent", page=False)
                + f"</div><div><span class='cap pred'>{PRED_CAPTION}</span>"
                + displacy.render(pred, style="ent", page=False)
                + "</div></div>"
            )
    parts.append(parse_pages_html(parses))
    for key in ("corpus", "footer"):
        parts.append(f"<h2>{TITLES[key]}</h2>" + table_html(HEADS[key], sections[key]))
    parts.append("</body></html>")
    return "\n".join(parts)


def render_md(sections: dict, images: dict[str, bytes], examples: list[Example], parses: list[ParseFigure]) -> str:
    out = [
        "# Pipeline report",
        "",
        "`report.html` beside this file has the same, with entity renders and figures inline.",
        "",
    ]

    def add(key: str, image: Optional[str] = None) -> None:
        if sections[key]:
            out.extend([f"## {TITLES[key]}", "", table_md(HEADS[key], sections[key]), ""])
        if image in images:
            out.extend([f"![{image}](report/{image}.png)", ""])

    head = headline_head(sections["previous_run"])
    out.extend([f"## {TITLES['headline']}", "", table_md(head, sections["headline"]), ""])
    if "learning_curves" in images:
        out.extend(["## Training", "", "![learning curves](report/learning_curves.png)", ""])
    add("ner", "ner_confusion")
    add("pos", "pos_confusion")
    add("deps")
    ent_errors = entity_errors(examples, MAX_ENTITY_ERRORS)
    if ent_errors:
        rows = []
        for err in ent_errors:
            gold, pred = _sentence_pair(examples[err.example], err.start, err.end)
            rows.append([gold.text, _ents_text(gold), _ents_text(pred)])
        out.extend(["## Entity errors", "", table_md(["sentence", GOLD_CAPTION, PRED_CAPTION], rows), ""])
    out.extend(parse_pages_md(parses))
    add("corpus")
    add("footer")
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
    sections = build(model, test, scores, log, stats, summary, config, output_dir, interactive=sys.stderr.isatty())
    msg.table(
        [row[:5] for row in sections["headline"]],
        header=headline_head(sections["previous_run"])[:5],
        divider=True,
        aligns=("l", "r", "r", "r", "r"),
    )
    msg.good(f"{output_dir / 'report.html'}, {output_dir / 'report.md'}")


if __name__ == "__main__":
    typer.run(main)
