"""Train a pipeline with `spacy train` into a scratch folder, then move the results into place.

A crashed or interrupted run leaves the previous model-best/model-last and the
training log untouched instead of half-overwritten.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import spacy
import typer
from spacy import util
from spacy.cli._util import setup_gpu
from spacy.cli.train import train as spacy_train

from pt_pipelines.files import checksum, remove_path, replace_tree, write_json
from pt_pipelines.weights import init_overrides, read_manifest, read_vectors_manifest

RESULTS = ("model-best", "model-last", "log.jsonl", "train-summary.json")


def transformer_overrides(config: Path, transformer: str | None, gpu_id: int = -1) -> dict[str, Any]:
    """Overrides for the config's transformer component; none for a config without one.

    The model name becomes `transformer` (a hub name or a local folder) when it is given, so that the project
    can pass its `transformer` var to every training whatever the base config. On CPU mixed precision is
    turned off: float16 autocast and thinc's gradient scaler need a CUDA device (thinc fails in backprop).
    """
    model = util.load_config(config, interpolate=False).get("components", {}).get("transformer", {}).get("model", {})
    overrides: dict[str, Any] = {}
    if transformer and "name" in model:
        folder = Path(transformer).expanduser()
        # a local folder made absolute: spaCy and transformers then find it whatever the working directory
        overrides["components.transformer.model.name"] = str(folder.resolve()) if folder.is_dir() else transformer
    if gpu_id < 0 and model.get("mixed_precision"):
        overrides["components.transformer.model.mixed_precision"] = False
    return overrides


def train(
    *,
    config: Path,
    output_dir: Path,
    train_path: Path,
    dev_path: Path,
    gpu_id: int = -1,
    seed: int | None = None,
    max_steps: int | None = None,
    init_dir: Path | None = None,
    vectors_dir: Path | None = None,
    transformer: str | None = None,
) -> list[Path]:
    """Train; return the paths of model-best, model-last, the JSONL log and train-summary.json."""
    started = time.perf_counter()
    overrides: dict[str, Any] = {"paths.train": str(train_path), "paths.dev": str(dev_path)}
    if seed is not None:
        overrides["system.seed"] = seed
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    manifest = read_manifest(init_dir) if init_dir is not None else {"vectors": None, "init_tok2vec": None}
    init = init_overrides(config, init_dir, manifest, vectors_dir) if init_dir is not None or vectors_dir else {}
    overrides.update(init)
    overrides.update(transformer_overrides(config, transformer, gpu_id))
    scratch = output_dir / ".train-scratch"
    remove_path(scratch)
    logger = util.load_config(config, interpolate=False)["training"].get("logger", {})
    if "output_file" not in logger:
        raise typer.BadParameter(
            f"{config}: [training.logger] has no output_file, so no machine-readable log can be written. "
            'Use @loggers = "spacy.ConsoleLogger.v3" with output_file = null in the base config'
        )
    overrides["training.logger.output_file"] = str(scratch / "log.jsonl")
    setup_gpu(gpu_id)
    spacy_train(config, scratch, use_gpu=gpu_id, overrides=overrides)
    log = [json.loads(line) for line in (scratch / "log.jsonl").read_text(encoding="utf8").splitlines() if line.strip()]
    summary = {
        "seconds": round(time.perf_counter() - started, 1),
        "steps": log[-1]["step"] if log else 0,
        "best_score": max((row["score"] for row in log), default=None),
        "seed": seed,
        "max_steps": max_steps,
        "init": manifest.get("init", "none"),
        "init_seconds": manifest.get("summary", {}).get("seconds"),
        "init_files": {k: v for k, v in init.items() if k.startswith("paths.")},
        "raw_text": manifest.get("raw_text"),
        "vectors": (read_vectors_manifest(vectors_dir) or {}).get("settings") if vectors_dir else None,
        "gpu_id": gpu_id,
        "transformer": overrides.get("components.transformer.model.name"),
        "config": str(config),
        "config_md5": checksum(config),
        "spacy_version": spacy.__version__,
    }
    write_json(scratch / "train-summary.json", summary)
    missing = [name for name in RESULTS if not (scratch / name).exists()]
    if missing:
        raise RuntimeError(f"spacy train finished without writing {', '.join(missing)} in {scratch}")
    for name in RESULTS:
        replace_tree(scratch / name, output_dir / name)
    remove_path(scratch)
    return [output_dir / name for name in RESULTS]


def main(
    config: Path = typer.Argument(..., exists=True, dir_okay=False, help="Filled training config"),
    output_dir: Path = typer.Option(Path("training"), "--output", help="Folder for model-best, model-last, log.jsonl"),
    train_path: Path = typer.Option(..., "--train", exists=True, help="Training .spacy file"),
    dev_path: Path = typer.Option(..., "--dev", exists=True, help="Development .spacy file"),
    gpu_id: int = typer.Option(-1, help="GPU id, -1 for CPU"),
    seed: int = typer.Option(0, help="Random seed (system.seed)"),
    max_steps: int = typer.Option(0, min=0, help="training.max_steps; 0 = no limit but patience/max_epochs"),
    init_dir: Optional[Path] = typer.Option(
        None, "--init", exists=True, file_okay=False, help="What the tok2vec starts from (init_weights.py's folder)"
    ),
    vectors_dir: Optional[Path] = typer.Option(
        None, "--vectors", exists=True, file_okay=False, help="Static vectors (init_vectors.py's folder)"
    ),
    transformer: Optional[str] = typer.Option(
        None, help="Transformer model (hub name or local folder); used only if the config has a transformer"
    ),
) -> None:
    """Train a pipeline from a config; write model-best, model-last and log.jsonl."""
    paths = train(
        config=config,
        output_dir=output_dir,
        train_path=train_path,
        dev_path=dev_path,
        gpu_id=gpu_id,
        seed=seed,
        max_steps=max_steps,
        init_dir=init_dir,
        vectors_dir=vectors_dir,
        transformer=transformer,
    )
    for path in paths:
        typer.echo(f"✔ {path}")


if __name__ == "__main__":
    typer.run(main)
