"""Speed of pipelines on the same text, next to a baseline, measured in one run.

For each pipeline: words/s of `nlp.pipe` over the test split's texts, the median of `repeats` passes (pipelines
alternate within each repeat, so drift in the machine hits all alike, after one warm-up pass), its ratio to the
baseline's, and the output of `spacy benchmark speed` on the same .spacy file.

A pipeline may also be a complete config (configs/config.cfg, or one written by scripts.fill_config): it is built
untrained, its labels read from its [paths] train and its static vectors from [paths] vectors. Words/s depend on the
architecture and the label set, not on the weights (a trained and an untrained wide UD pipeline: 4,387 and 4,430
words/s side by side), so a config's speed can be weighed before hours of training go into it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import spacy
import typer
from spacy.tokens import DocBin
from spacy.training.initialize import init_nlp

from pt_pipelines.files import write_json

# spacy benchmark speed parses n_batches × batch_size documents drawn from the data (30 batches at least) after
# 3 warm-up passes over it, whatever the data's size: 50 × 256 documents took over 500 s on a 120-document test set
SPACY_MIN_BATCHES = 30


def words_per_second(nlp, texts: list[str], words: int, batch_size: int) -> float:
    start = time.perf_counter()
    for _doc in nlp.pipe(texts, batch_size=batch_size):
        pass
    return words / (time.perf_counter() - start)


def spacy_bench_batch_size(*, words_per_s: float, words_per_doc: float, budget_s: float, batch_size: int) -> int:
    """The batch size at which spaCy's SPACY_MIN_BATCHES batches take about budget_s at the speed measured."""
    docs = budget_s * words_per_s / max(words_per_doc, 1.0)
    return max(1, min(batch_size, int(docs / SPACY_MIN_BATCHES)))


def spacy_benchmark_speed(*, model: Path, data: Path, batch_size: int, timeout_s: float) -> str:
    """The table `spacy benchmark speed` prints (mean words/s with a bootstrap confidence interval)."""
    command = [sys.executable, "-m", "spacy", "benchmark", "speed", str(model), str(data)]
    command += ["--batch-size", str(batch_size), "--batches", str(SPACY_MIN_BATCHES), "--warmup", "1"]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"not measured: spacy benchmark speed took over {timeout_s:.0f} s"
    if proc.returncode != 0:
        raise RuntimeError(f"spacy benchmark speed {model} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout.strip()


def untrained_pipeline(config_path: Path, output: Path) -> Path:
    """Build the untrained pipeline a complete config describes (labels from its [paths] train, static vectors from
    its [paths] vectors) and save it to output. Raises ValueError naming the config and what spaCy said."""
    try:
        nlp = init_nlp(spacy.util.load_config(config_path, interpolate=False))
    except (OSError, KeyError, ValueError) as e:  # ValueError covers spaCy's config and missing-corpus errors
        raise ValueError(f"{config_path}: cannot build the pipeline it describes ({e}). It must be a complete config "
                         "(configs/config.cfg after fill-config, or one written by python -m scripts.fill_config "
                         "--output), run where the files its [paths] name exist") from None
    nlp.to_disk(output)
    return output


def benchmark(models: dict[str, Path], baseline: Optional[str], data: Path, repeats: int = 5, batch_size: int = 256,
        budget_s: float = 120.0, spacy_benchmark: bool = True) -> dict[str, Any]:
    """Words/s of each pipeline (median of repeats) and spaCy's own benchmark; ratios to the baseline. budget_s
    bounds each part per pipeline: the repeats stop once it is spent (after one pass), and spaCy's benchmark gets a
    batch size that fits it at the speed measured (and is stopped at 3x it). A model that is a .cfg file is built
    untrained from that config (untrained_pipeline) in a temporary folder. spacy_benchmark False skips spaCy's
    benchmark (a subprocess that loads each pipeline again: about a minute each when many are compared)."""
    with tempfile.TemporaryDirectory() as tmp:
        folders = {name: untrained_pipeline(path, Path(tmp) / f"untrained-{i}") if path.suffix == ".cfg" else path
                   for i, (name, path) in enumerate(models.items())}
        result = _benchmark(folders, baseline, data, repeats, batch_size, budget_s, spacy_benchmark)
    for name, path in models.items():
        result["pipelines"][name].update(model=str(path), untrained=path.suffix == ".cfg")
    return result


def _benchmark(models: dict[str, Path], baseline: Optional[str], data: Path, repeats: int, batch_size: int,
        budget_s: float, spacy_benchmark: bool) -> dict[str, Any]:
    pipelines = {name: spacy.load(path) for name, path in models.items()}
    first = next(iter(pipelines.values()))
    texts = [doc.text for doc in DocBin().from_disk(data).get_docs(first.vocab)]
    words = sum(len(doc) for doc in first.tokenizer.pipe(texts))
    runs: dict[str, list[float]] = {name: [] for name in pipelines}
    for nlp in pipelines.values():  # warm-up: first-call allocations are not the steady state
        words_per_second(nlp, texts[:200], 1, batch_size)
    started = time.perf_counter()
    for i in range(repeats):
        for name, nlp in pipelines.items():
            runs[name].append(words_per_second(nlp, texts, words, batch_size))
            print(f"pass {i + 1}/{repeats} {name}: {runs[name][-1]:.0f} words/s", flush=True)
        if time.perf_counter() - started > budget_s * len(pipelines):
            print(f"time budget spent ({budget_s:.0f} s per pipeline): {i + 1} passes", flush=True)
            break
    result: dict[str, Any] = {"data": str(data), "texts": len(texts), "words": words,
                              "repeats": len(next(iter(runs.values()))), "budget_s": budget_s, "batch_size": batch_size,
                              "baseline": baseline, "spacy_version": spacy.__version__, "pipelines": {}}
    base = statistics.median(runs[baseline]) if baseline is not None else None
    for name, path in models.items():
        speed = statistics.median(runs[name])
        entry = {"model": str(path), "components": pipelines[name].pipe_names, "words_per_s": speed,
                 "words_per_s_runs": [round(x) for x in runs[name]],
                 **({"ratio_to_baseline": speed / base} if base is not None else {})}
        if spacy_benchmark:
            bench_batch = spacy_bench_batch_size(words_per_s=speed, words_per_doc=words / max(len(texts), 1),
                budget_s=budget_s, batch_size=batch_size)
            print(f"spacy benchmark speed {name}: {SPACY_MIN_BATCHES} batches of {bench_batch} texts", flush=True)
            entry["spacy_benchmark_batch_size"] = bench_batch
            entry["spacy_benchmark_speed"] = spacy_benchmark_speed(model=path, data=data, batch_size=bench_batch,
                                                                   timeout_s=3 * budget_s + 60)
        else:
            entry["spacy_benchmark_speed"] = "not run (--no-spacy-benchmark)"
        result["pipelines"][name] = entry
    return result


def pipeline_paths(models: list[str], baseline: Optional[str]) -> tuple[dict[str, Path], Optional[str]]:
    """{name: pipeline folder or .cfg file} of the NAME=PATH (or PATH) specs, and the baseline's name. The baseline
    is a spec too, or the NAME of one of the models. Raises ValueError naming a path that holds no pipeline."""
    names = [spec.partition("=")[0] for spec in models]  # a PATH alone is its own name
    specs = [*models, baseline] if baseline and ("=" in baseline or baseline not in names) else models
    named: dict[str, Path] = {}
    for spec in specs:
        name, _, path = spec.partition("=") if "=" in spec else (spec, "", spec)
        if Path(path).suffix == ".cfg" and Path(path).is_file():
            named[name] = Path(path)
            continue
        if not (Path(path) / "config.cfg").is_file():  # a folder above the pipeline (models/<run>) is a common slip
            inside = sorted(p.parent.name for p in Path(path).glob("*/config.cfg")) if Path(path).is_dir() else []
            hint = f"; the pipeline may be {Path(path) / inside[0]}" if inside else " (train it first)"
            what = f", nor the name of one of {', '.join(names)}" if spec == baseline else ""
            raise ValueError(f"{path}: not a spaCy pipeline folder (no config.cfg) nor a config file{what}{hint}")
        named[name] = Path(path)
    return named, (baseline.partition("=")[0] if baseline else None)


def main(models: list[str] = typer.Argument(..., help="Pipelines, as PATH or NAME=PATH; a PATH ending in .cfg is a complete config, measured untrained"),
        baseline: Optional[str] = typer.Option(None, help="The pipeline the others are compared with: PATH, NAME=PATH, or the NAME of one of them"),
        data: Path = typer.Option(..., exists=True, dir_okay=False, help="Test split (.spacy) whose texts are parsed"),
        output: Path = typer.Option(Path("metrics/benchmark-speed.json")),
        repeats: int = typer.Option(5, min=1, help="Passes over the texts per pipeline; the median is reported"),
        batch_size: int = typer.Option(256, min=1),
        budget: float = typer.Option(120.0, min=1.0, help="Seconds per pipeline for the passes, and for spacy benchmark speed"),
        spacy_benchmark: bool = typer.Option(True, help="Also run spacy benchmark speed on each pipeline (about a minute each)")) -> None:
    """Compare the speed of pipelines (trained, or built untrained from a config) with a baseline on the same text."""
    try:
        named, baseline_name = pipeline_paths(models, baseline)
        result = benchmark(named, baseline_name, data, repeats, batch_size, budget, spacy_benchmark)
    except ValueError as e:
        typer.echo(f"✘ {e}", err=True)
        raise typer.Exit(2) from None
    write_json(output, result)
    typer.echo(f"{result['texts']} texts, {result['words']} words; median of {result['repeats']} passes of nlp.pipe")
    for name, entry in result["pipelines"].items():
        ratio = f"  {entry['ratio_to_baseline']:.2f}x baseline" if "ratio_to_baseline" in entry else ""
        untrained = "  (untrained, from its config)" if entry["untrained"] else ""
        typer.echo(f"  {name:30} {entry['words_per_s']:9.0f} words/s{ratio}{untrained}")
    if spacy_benchmark:
        for name, entry in result["pipelines"].items():
            typer.echo(f"\nspacy benchmark speed {name}:\n{entry['spacy_benchmark_speed']}")
    typer.echo(f"✔ {output}")


if __name__ == "__main__":
    typer.run(main)
