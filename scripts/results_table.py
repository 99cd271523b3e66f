"""Render the README's results table from the records in metrics/ (metrics/<corpus>-<pipeline>.json).

Rows for this project's pipelines come only from those files, written by the evaluate step, and sit next
to published anchors with their sources. The table replaces what is between the README's
RESULTS TABLE markers; the rest of the README is left as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from pt_pipelines.files import write_text

START, END = "<!-- RESULTS TABLE START -->", "<!-- RESULTS TABLE END -->"
COLUMNS = [
    ("pos_acc", "POS"),
    ("morph_acc", "Morph"),
    ("lemma_acc", "Lemma"),
    ("dep_uas", "UAS"),
    ("dep_las", "LAS"),
    ("ents_f", "NER F"),
]
# Published figures the pipelines are measured against (test split unless said otherwise).
ANCHORS: list[dict[str, Any]] = [
    {
        "corpus": "bosque-r2.8",
        "name": "pt_core_news_sm 3.x",
        "source": "spacy.io/models/pt, trained on Bosque r2.8",
        "scores": {"pos_acc": 96.38, "morph_acc": 94.96, "lemma_acc": 96.91, "dep_uas": 89.04, "dep_las": 84.52},
    },
    {
        "corpus": "bosque-r2.8",
        "name": "pt_core_news_lg 3.x (500k vectors)",
        "source": "spacy.io/models/pt, trained on Bosque r2.8",
        "scores": {"pos_acc": 97.23, "morph_acc": 96.09, "lemma_acc": 97.37, "dep_uas": 89.86, "dep_las": 85.93},
    },
    {
        "corpus": "harem-selective",
        "name": "BiLSTM-CRF",
        "source": "Souza et al. 2020 (BERTimbau), MiniHAREM",
        "scores": {"ents_f": 76.27},
    },
    {
        "corpus": "harem-selective",
        "name": "BiLSTM-CRF+Flair",
        "source": "Souza et al. 2020, MiniHAREM",
        "scores": {"ents_f": 82.26},
    },
    {
        "corpus": "harem-selective",
        "name": "BERTimbau large",
        "source": "Souza et al. 2020, MiniHAREM",
        "scores": {"ents_f": 83.7},
    },
    {
        "corpus": "lener",
        "name": "LSTM-CRF",
        "source": "Luz de Araujo et al. 2018 (LeNER-Br)",
        "scores": {"ents_f": 86.61},
    },
]
# This template's goals (issue 4 of the project), shown as rows too, so that the gap is in plain sight.
TARGETS: list[dict[str, Any]] = [
    {
        "corpus": "bosque",
        "scores": {"pos_acc": 97.3, "morph_acc": 96.1, "lemma_acc": 97.4, "dep_uas": 90.0, "dep_las": 86.0},
    },
    {"corpus": "harem-selective", "scores": {"ents_f": 78.0}},
    {"corpus": "lener", "scores": {"ents_f": 88.0}},
]
ANCHORS += [
    {"corpus": t["corpus"], "name": "target", "source": "this template's goal", "scores": t["scores"]} for t in TARGETS
]
CORPUS_ORDER = ["bosque", "bosque-r2.8", "harem-selective", "harem-total", "lener"]


def load_records(metrics: Path) -> list[dict[str, Any]]:
    """Results records in metrics/ (files with corpus and pipeline), the shipped sample's left out."""
    records = []
    for path in sorted(metrics.glob("*-*.json")):
        data = json.loads(path.read_text(encoding="utf8"))
        if isinstance(data, dict) and {"corpus", "pipeline", "scores"} <= set(data) and data["corpus"] != "sample":
            records.append(data)
    return records


def _cell(value: Optional[float]) -> str:
    return "" if value is None else f"{value:.2f}"


def render(records: list[dict[str, Any]]) -> str:
    """The Markdown table: each corpus's anchors, then this project's pipelines on it."""
    head = ["corpus", "pipeline", *(name for _, name in COLUMNS), "words/s", "train time", "measured on"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    corpora = sorted(
        {r["corpus"] for r in records} | {a["corpus"] for a in ANCHORS},
        key=lambda c: (CORPUS_ORDER.index(c) if c in CORPUS_ORDER else len(CORPUS_ORDER), c),
    )
    for corpus in corpora:
        for anchor in (a for a in ANCHORS if a["corpus"] == corpus):
            cells = [_cell(anchor["scores"].get(k)) for k, _ in COLUMNS]
            lines.append(
                f"| {corpus} | *{anchor['name']}* | "
                + " | ".join(cells)
                + f" |  |  | {'' if anchor['name'] == 'target' else 'published: '}{anchor['source']} |"
            )
        for rec in sorted((r for r in records if r["corpus"] == corpus), key=lambda r: r["pipeline"]):
            cells = [_cell(100 * rec["scores"][k] if k in rec["scores"] else None) for k, _ in COLUMNS]
            minutes = (
                f"{rec['train_seconds'] / 60:.0f} min"
                + (f", {rec['train_steps']} steps" if rec.get("train_steps") else "")
                + (f" + {rec['init_seconds'] / 60:.1f} min {rec['init']}" if rec.get("init_seconds") else "")
                if rec.get("train_seconds")
                else ""
            )
            where = f"{rec.get('machine', '')}; spaCy {rec.get('spacy_version', '')}; {rec.get('date', '')}"
            speed = f"{rec['words_per_s']:,.0f}" if rec.get("words_per_s") else ""
            lines.append(
                f"| {corpus} | **{rec['pipeline']}** | " + " | ".join(cells) + f" | {speed} | {minutes} | {where} |"
            )
    return "\n".join(lines)


def update_readme(readme: Path, table: str) -> bool:
    """Put the table between the markers; return whether the README changed."""
    text = readme.read_text(encoding="utf8")
    if START not in text or END not in text:
        raise SystemExit(f"✘ {readme}: add the lines {START} and {END} where the table goes")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    new = f"{before}{START}\n{table}\n{END}{after}"
    if new != text:
        write_text(readme, new)
    return new != text


def main(
    metrics: Path = typer.Option(Path("metrics"), help="Folder with the results records"),
    readme: Path = typer.Option(Path("README.md"), help="README with the table markers"),
) -> None:
    """Regenerate the README's results table from metrics/."""
    changed = update_readme(readme, render(load_records(metrics)))
    typer.echo(f"✔ {readme}: results table {'updated' if changed else 'already current'}")


if __name__ == "__main__":
    typer.run(main)
