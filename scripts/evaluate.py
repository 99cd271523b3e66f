"""Evaluate a trained pipeline on held-out data and write the scores as JSON."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from spacy.cli._util import setup_gpu
from spacy.cli.evaluate import evaluate as spacy_evaluate

from fileio import write_json


def evaluate(model: Path, data: Path, output: Path, gpu_id: int = -1, silent: bool = False) -> dict[str, Any]:
    """Score `model` on `data` with spaCy's evaluator; write and return the scores."""
    started = time.perf_counter()
    print(f"evaluating {model} on {data}", flush=True)
    setup_gpu(gpu_id, silent=True)
    scores = spacy_evaluate(str(model), data, output=None, use_gpu=gpu_id, silent=silent)
    scores["seconds"] = round(time.perf_counter() - started, 2)
    write_json(output, scores)
    return scores


def main(
    model: Path = typer.Argument(..., exists=True, help="Trained pipeline folder"),
    data: Path = typer.Argument(..., exists=True, dir_okay=False, help="Held-out .spacy file (the test split)"),
    output: Path = typer.Option(Path("metrics/scores.json"), help="Where the scores JSON goes"),
    gpu_id: int = typer.Option(-1, help="GPU id, -1 for CPU"),
) -> None:
    """Evaluate on the test split, print spaCy's score tables and write the JSON."""
    evaluate(model, data, output, gpu_id)
    typer.echo(f"✔ {output}")


if __name__ == "__main__":
    typer.run(main)
