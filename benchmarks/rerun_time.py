"""Benchmark: wall time of `spacy project run all` when nothing changed (every step skipped).

Run it on a project where `all` has already run; it times `repeats` no-op runs as subprocesses (what a
user types, Python start-up and imports included), checks that no step ran, prints the median and writes
metrics/benchmark-rerun.json.

    python benchmarks/rerun_time.py .
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import typer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: scripts and pt_pipelines
from pt_pipelines.files import write_json  # noqa: E402


def main(
    project: Path = typer.Argument(Path("."), exists=True, file_okay=False),
    repeats: int = typer.Option(5, min=1),
    output: Path = typer.Option(Path("metrics/benchmark-rerun.json")),
) -> None:
    """Time no-op reruns of the all workflow."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "spacy", "project", "run", "all", str(project)], capture_output=True, text=True
        )
        times.append(time.perf_counter() - start)
        if proc.returncode != 0 or "Running command" in proc.stdout:
            raise SystemExit(f"✘ the rerun was not a no-op (exit {proc.returncode}):\n{proc.stdout[-2000:]}")
    result = {"repeats": repeats, "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}
    write_json(output, result)
    print(
        f"no-op `spacy project run all`: median {result['median_s']:.2f} s over {repeats} runs "
        f"(min {result['min_s']:.2f}, max {result['max_s']:.2f})"
    )


if __name__ == "__main__":
    typer.run(main)
