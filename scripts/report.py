"""Write metrics/report.html (self-contained) and metrics/report.md from a trained pipeline and its test scores.

Headline scores (test next to model-best's dev scores and the previous run), per-label NER, per-POS and
per-relation tables, confusion heatmaps, learning curves, displaCy error pages, corpus statistics and a
reproducibility footer. Figures are computed from the pipeline's predictions on the test split; the
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
MAX_ENTITY_ERRORS, MAX_PARSE_ERRORS = 12, 5


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


def learning_curves(log: list[dict]) -> Optional[bytes]:
    """Loss per component and dev score per evaluation step."""
    if not log:
        return None
    steps = [row["step"] for row in log]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    for comp in log[-1]["losses"]:
        ax1.plot(steps, [row["losses"].get(comp, 0.0) for row in log], label=comp, marker=".")
    ax1.set(title="Training loss (since previous evaluation)", xlabel="step", yscale="symlog")
    ax1.legend(fontsize=8)
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


def update_history(path: Path, key: dict, scores: dict) -> Optional[dict]:
    """Record this run's scores under its config and corpus checksums; return the previous other run."""
    runs = json.loads(path.read_text(encoding="utf8"))["runs"] if path.exists() else []
    same = lambda run: all(run.get(k) == v for k, v in key.items())  # noqa: E731
    previous = next((run for run in reversed(runs) if not same(run)), None)
    runs = [run for run in runs if not same(run)] + [
        {**key, "time": time.strftime("%Y-%m-%d %H:%M:%S"), "scores": scores}
    ]
    write_json(path, {"runs": runs})
    return previous


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
    history_key = {"config_md5": checksum(config), "corpus_md5": checksum(test)}
    previous = update_history(output_dir / "history.json", history_key, {k: scores[k] for k, _ in headline_keys})
    headline = []
    for key, name in headline_keys:
        test_v, dev_v = scores[key], dev.get(key)
        prev_v = previous["scores"].get(key) if previous else None
        flag = "⚠ dev much higher: overfitting?" if dev_v is not None and dev_v - test_v > OVERFIT_GAP else ""
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
    for name, data in images.items():
        (img_dir / f"{name}.png").write_bytes(data)

    sections: dict[str, Any] = {
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
        write_text(output_dir / "report.html", render_html(sections, images, examples, model))
    write_text(output_dir / "report.md", render_md(sections, images, examples))
    return sections


HEADS = {
    "headline": ["metric", "test", "dev (model-best)", "previous run", "Δ test", ""],
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
h3{margin-bottom:.2em}.muted{color:#777;font-size:.9em}"""


def _sentence_pair(eg: Example, start: int, end: int) -> tuple:
    gold = eg.reference[start:end]
    pred = eg.predicted.char_span(gold.start_char, gold.end_char, alignment_mode="expand")
    return gold.as_doc(), (pred.as_doc() if pred is not None else gold.as_doc())


def _ents_text(doc) -> str:
    return ", ".join(f"{e.text} ({e.label_})" for e in doc.ents) or "—"


def render_html(sections: dict, images: dict[str, bytes], examples: list[Example], model: Path) -> str:
    def img(name: str) -> str:
        if name not in images:
            return ""
        data = base64.b64encode(images[name]).decode()
        return f'<p><img alt="{name}" src="data:image/png;base64,{data}"></p>'

    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Pipeline report</title><style>{CSS}</style></head><body>",
        f"<h1>Pipeline report</h1><p class='muted'>{html.escape(str(model))}</p>",
    ]
    for key in ("headline",):
        parts.append(f"<h2>{TITLES[key]}</h2>" + table_html(HEADS[key], sections[key], "headline"))
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
                "<div class='pair'><div><span class='muted'>gold</span>"
                + displacy.render(gold, style="ent", page=False)
                + "</div><div><span class='muted'>predicted</span>"
                + displacy.render(pred, style="ent", page=False)
                + "</div></div>"
            )
    parses = worst_parses(examples, MAX_PARSE_ERRORS)
    if parses:
        parts.append("<h2>Worst-parsed sentences: gold, then predicted</h2>")
        for err in parses:
            gold, pred = _sentence_pair(examples[err.example], err.start, err.end)
            options = {"compact": True, "distance": 85}
            parts.append(
                f"<h3>LAS {pct(err.las)}</h3><div><span class='muted'>gold</span>"
                + displacy.render(gold, style="dep", page=False, options=options)
                + "</div><div><span class='muted'>predicted</span>"
                + displacy.render(pred, style="dep", page=False, options=options)
                + "</div>"
            )
    for key in ("corpus", "footer"):
        parts.append(f"<h2>{TITLES[key]}</h2>" + table_html(HEADS[key], sections[key]))
    parts.append("</body></html>")
    return "\n".join(parts)


def render_md(sections: dict, images: dict[str, bytes], examples: list[Example]) -> str:
    out = ["# Pipeline report", "", "The full report with error pages is `report.html` beside this file.", ""]

    def add(key: str, image: Optional[str] = None) -> None:
        if sections[key]:
            out.extend([f"## {TITLES[key]}", "", table_md(HEADS[key], sections[key]), ""])
        if image in images:
            out.extend([f"![{image}](report/{image}.png)", ""])

    add("headline")
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
        out.extend(["## Entity errors", "", table_md(["sentence", "gold", "predicted"], rows), ""])
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
        header=HEADS["headline"][:5],
        divider=True,
        aligns=("l", "r", "r", "r", "r"),
    )
    msg.good(f"{output_dir / 'report.html'}, {output_dir / 'report.md'}")


if __name__ == "__main__":
    typer.run(main)
