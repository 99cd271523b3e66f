"""Write docs/results.md from this project's published records in results/ (metrics/, a user's own runs, is never read).

A record (results/<run>-<pipeline>.json) is evaluate's record copied from metrics/ to publish it. The rows sit next
to the published anchors of results/anchors.yml, each naming its split: spaCy's pt_core_news_* figures are dev
scores, the papers' test scores. results/levers.yml pairs records into levers (a run and the same config without
the lever) and names runs that differ only by seed: each lever's delta is shown next to the seed noise.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Optional

import srsly
import typer

from pt_pipelines.errors import StepError, step_errors
from pt_pipelines.files import write_text

COLUMNS = [("pos_acc", "POS"), ("morph_acc", "Morph"), ("lemma_acc", "Lemma"), ("dep_uas", "UAS"), ("dep_las", "LAS"),
           ("ents_f", "NER F")]
CORPUS_ORDER = ["bosque", "bosque-r2.8", "harem-selective", "harem-total", "lener"]


def load_anchors(results: Path) -> list[dict[str, Any]]:
    """The published figures and targets of results/anchors.yml (none when the folder has no such file)."""
    spec = srsly.read_yaml(results / "anchors.yml") if (results / "anchors.yml").exists() else {}
    targets = [{"name": "target", "source": "this template's goal", **t} for t in spec.get("targets", [])]
    return spec.get("anchors", []) + targets


def load_records(results: Path) -> list[dict[str, Any]]:
    """Results records in results/ (the shipped sample's left out), each with its file stem under "file", by which
    results/levers.yml names it."""
    found = [(path.stem, json.loads(path.read_text(encoding="utf8"))) for path in sorted(results.glob("*-*.json"))]
    return [{**data, "file": stem} for stem, data in found
            if isinstance(data, dict) and {"corpus", "pipeline", "scores"} <= set(data) and data["corpus"] != "sample"]


def _name(rec: dict[str, Any]) -> str:
    """The record's pipeline, with its run name where that is not the corpus (two runs of one corpus and
    pipeline on different splits of its files, such as harem-selective-bigdev, must not read alike)."""
    run_name = rec.get("run_name")
    name = rec["pipeline"] + (f" (run {run_name})" if run_name and run_name != rec["corpus"] else "")
    # trained on more than the corpus's own train split: not the published protocol, whatever its score
    return name + (" + extra train data" if rec.get("extra_train") else "")


def _cell(value: Optional[float]) -> str:
    return "" if value is None else f"{value:.2f}"


def render(records: list[dict[str, Any]], anchors: list[dict[str, Any]]) -> str:
    """The Markdown table: each corpus's anchors, then this project's pipelines on it."""
    head = ["corpus", "pipeline", "split", *(name for _, name in COLUMNS), "words/s", "train time", "measured on"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    corpora = sorted({r["corpus"] for r in records} | {a["corpus"] for a in anchors},
                     key=lambda c: (CORPUS_ORDER.index(c) if c in CORPUS_ORDER else len(CORPUS_ORDER), c))
    for corpus in corpora:
        for anchor in (a for a in anchors if a["corpus"] == corpus):
            cells = [_cell(anchor["scores"].get(k)) for k, _ in COLUMNS]
            lines.append(f"| {corpus} | *{anchor['name']}* | {anchor.get('split', 'test')} | " + " | ".join(cells)
                         + f" |  |  | {'' if anchor['name'] == 'target' else 'published: '}{anchor['source']} |")
        for rec in sorted((r for r in records if r["corpus"] == corpus), key=lambda r: (r["pipeline"], r.get("split", ""))):
            cells = [_cell(100 * rec["scores"][k] if k in rec["scores"] else None) for k, _ in COLUMNS]
            minutes = (f"{rec['train_seconds'] / 60:.0f} min"
                       + (f", {rec['train_steps']} steps" if rec.get("train_steps") else "")
                       + (f" + {rec['init_seconds'] / 60:.1f} min {rec['init']}" if rec.get("init_seconds") else "")
                       if rec.get("train_seconds") else "")
            where = f"{rec.get('machine', '')}; spaCy {rec.get('spacy_version', '')}; {rec.get('date', '')}"
            speed = f"{rec['words_per_s']:,.0f}" if rec.get("words_per_s") else ""
            lines.append(f"| {corpus} | **{_name(rec)}** | {rec.get('split', 'test')} | " + " | ".join(cells)
                         + f" | {speed} | {minutes} | {where} |")
    return "\n".join(lines)


class LeversError(StepError, ValueError):
    """results/levers.yml names a record or benchmark entry that is not there, or is malformed."""


def _lookup(by_file: dict[str, dict[str, Any]], name: Any, where: str) -> dict[str, Any]:
    if not isinstance(name, str) or name not in by_file:
        raise LeversError(f"{where}: no results record results/{name}.json")
    return by_file[name]


def _speed_cell(results: Path, speed: Any, where: str) -> str:
    """'run vs baseline words/s (ratio)' from a benchmark_speed record naming both pipelines; from several
    (benchmark: a list, repeated runs on a noisy machine), the median ratio and its range."""
    if not speed:
        return ""
    if not isinstance(speed, dict) or not {"benchmark", "run", "baseline"} <= set(speed):
        raise LeversError(f"{where}: speed needs benchmark (a file in results/, or a list), run and baseline (its pipeline names)")
    benchmarks = speed["benchmark"] if isinstance(speed["benchmark"], list) else [speed["benchmark"]]
    if not benchmarks:
        raise LeversError(f"{where}: speed's benchmark list is empty")
    pairs = []
    for path in (results / str(benchmark) for benchmark in benchmarks):
        try:
            pipelines = json.loads(path.read_text(encoding="utf8"))["pipelines"]
            pairs.append(tuple(float(pipelines[speed[key]]["words_per_s"]) for key in ("run", "baseline")))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise LeversError(f"{where}: {path} has no words_per_s for {speed['run']!r} and {speed['baseline']!r} ({err})") from None
    if len(pairs) == 1:
        run, base = pairs[0]
        return f"{run:,.0f} vs {base:,.0f} ({run / base:.2f}x)"
    ratios = sorted(run / base for run, base in pairs)
    return f"{statistics.median(ratios):.2f}x, median of {len(ratios)} benchmark runs ({ratios[0]:.2f}x to {ratios[-1]:.2f}x)"


def render_levers(records: list[dict[str, Any]], spec: dict[str, Any], results: Path) -> str:
    """Two tables: each lever's change in points against its baseline run, and the spread over seeds."""
    by_file = {r["file"]: r for r in records}
    head = ["lever", "corpus", "split", "run", "baseline", *(f"Δ {name}" for _, name in COLUMNS), "words/s, run vs baseline"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, lever in enumerate(spec.get("levers") or []):
        where = f"results/levers.yml, levers[{i}]"
        if not isinstance(lever, dict) or not {"lever", "run", "baseline"} <= set(lever):
            raise LeversError(f"{where}: each lever needs lever (what it is), run and baseline (record names)")
        run, base = (_lookup(by_file, lever[key], where) for key in ("run", "baseline"))
        if (run["corpus"], run.get("split")) != (base["corpus"], base.get("split")):
            raise LeversError(f"{where}: {lever['run']} and {lever['baseline']} are not on the same corpus and split")
        deltas = [f"{round(100 * (run['scores'][k] - base['scores'][k]), 2) + 0.0:+.2f}"
                  if k in run["scores"] and k in base["scores"] else "" for k, _ in COLUMNS]
        cells = [lever["lever"], run["corpus"], run.get("split", "test"), _name(run), _name(base), *deltas]
        lines.append("| " + " | ".join(cells) + f" | {_speed_cell(results, lever.get('speed'), where)} |")
    noise = ["| corpus | split | runs (seeds) | " + " | ".join(f"{name} range" for _, name in COLUMNS) + " |",
             "|" + "---|" * (3 + len(COLUMNS))]
    for i, group in enumerate(spec.get("seed_runs") or []):
        where = f"results/levers.yml, seed_runs[{i}]"
        runs = [_lookup(by_file, name, where) for name in (group if isinstance(group, list) else [None])]
        seeds = ", ".join(f"{_name(r)} ({r.get('seed', '?')})" for r in runs)
        values = [[100 * r["scores"][key] for r in runs if key in r["scores"]] for key, _ in COLUMNS]
        spreads = [f"{min(v):.2f}–{max(v):.2f} ({max(v) - min(v):.2f})" if v else "" for v in values]
        noise.append(f"| {runs[0]['corpus']} | {runs[0].get('split', 'test')} | {seeds} | " + " | ".join(spreads) + " |")
    return "\n".join(lines) + "\n\n### Seed noise: the same run with other seeds\n\n" + "\n".join(noise)


LEVERS_HEADER = """

## What each lever buys

From `results/levers.yml`: each row is a run and the run with the same config, data, seed and steps without the
lever (points; positive is better), with the words/s of both pipelines measured side by side in one benchmark
run where there is one (`scripts/benchmark_speed.py`, median of 5 or 9 passes; where passes varied by more than
10%, the median ratio of three such runs and its range). Read a delta against the seed noise below: differences
inside the seed range are not a measured gain.

"""


HEADER = """# Results

Generated by `python -m spacy project run results-table .` from the records in `results/` (an evaluated run's
record, copied there from `metrics/` to publish it); do not edit by hand. The command behind each row is in
[corpora.md](corpora.md). Italic rows are published figures and this template's targets; **bold** rows are this
template's pipelines. `split` is the evaluation split: spaCy's `pt_core_news_*` report their dev scores (Bosque
r2.8 dev), so compare them with our `dev` rows; everything else is on the held-out test split. Scores are
percentages; words/s is `nlp.pipe` on the evaluated text on the machine named (one pass, so a rough figure: see
benchmarks.md for the careful one). A pipeline marked "+ extra train data" also trained on other corpora
(`extra_train`, and the `label_map` that joined their labels, named in its record): that is not the corpus's
published protocol, so compare it with our other rows, not with the published ones.

"""


def render_page(results: Path) -> str:
    """The results table, then the levers section when results/levers.yml exists."""
    records = load_records(results)
    text = render(records, load_anchors(results))
    levers = results / "levers.yml"
    if levers.exists():
        try:
            spec = srsly.read_yaml(levers)
        except ValueError as err:
            raise LeversError(f"{levers}: not valid YAML ({err})") from None
        if not isinstance(spec, dict):
            raise LeversError(f"{levers}: expected a mapping with levers and seed_runs")
        text += LEVERS_HEADER + render_levers(records, spec, results)
    return text


def write_results(output: Path, table: str) -> bool:
    """Write the results page; return whether it changed."""
    text = HEADER + table + "\n"
    if output.exists() and output.read_text(encoding="utf8") == text:
        return False
    write_text(output, text)
    return True


def main(results: Path = typer.Option(Path("results"), help="Folder with the published results records"),
        output: Path = typer.Option(Path("docs/results.md"), help="The results page to write")) -> None:
    """Write docs/results.md from the published results records in results/."""
    with step_errors():
        changed = write_results(output, render_page(results))
    typer.echo(f"✔ {output}: {'updated' if changed else 'already current'}")


if __name__ == "__main__":
    typer.run(main)
