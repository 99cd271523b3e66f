"""Train a pipeline with `spacy train` into a scratch folder, then move the results into place.

A crashed or interrupted run leaves the previous model-best/model-last and the
training log untouched instead of half-overwritten.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import spacy
import typer
from spacy import util
from spacy.cli._util import setup_gpu
from spacy.cli.train import train as spacy_train
from spacy.training import loop as spacy_loop

from pt_pipelines.files import (
    CONVERT_MARKER,
    LockHeld,
    checksum,
    fault_point,
    remove_path,
    replace_tree,
    run_lock,
    write_json,
)
from pt_pipelines.textio import CorpusError
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


def configured_schedule(config: Path, overrides: dict[str, Any]) -> Any:
    """The resolved [training.optimizer.learn_rate] block (a dict for a schedule, else a number)."""
    cfg = util.load_config(config, overrides=overrides, interpolate=True)
    return cfg["training"].get("optimizer", {}).get("learn_rate")


def configured_max_steps(config: Path, overrides: dict[str, Any]) -> int:
    return util.load_config(config, overrides=overrides, interpolate=True)["training"].get("max_steps", 0)


def schedule_overrides(config: Path, overrides: dict[str, Any], max_steps: int | None) -> dict[str, Any]:
    """Overrides that make a learn-rate schedule of fixed total_steps follow the steps trained.

    A schedule such as warmup_linear.v1 with total_steps = 4000 trained for another max_steps would stop
    mid-decay (or stay at 0 for the rest), silently: the schedule is set to max_steps, or, when max_steps is 0
    (train until patience), the run is refused, since no step count is known to decay over.
    """
    rate = configured_schedule(config, overrides)
    if not isinstance(rate, dict) or "total_steps" not in rate:
        return {}
    steps = configured_max_steps(config, overrides) if max_steps is None else max_steps
    if not steps:
        raise typer.BadParameter(
            f"{config}: [training.optimizer.learn_rate] decays over total_steps = {rate['total_steps']}, but "
            "max_steps is 0 (train until patience): set max_steps (--vars.max_steps) to the steps to train"
        )
    if steps == rate["total_steps"]:
        return {}
    return {"training.optimizer.learn_rate.total_steps": steps}


def check_corpus(paths: list[Path]) -> None:
    """Refuse a corpus that convert did not finish writing: its stats.json (written last) records the md5 of
    every .spacy file, and convert keeps a marker in the folder while it moves the new files in."""
    for path in paths:
        folder = path.parent
        stats_path = folder / "stats.json"
        if (folder / CONVERT_MARKER).exists():
            raise CorpusError(
                folder / CONVERT_MARKER,
                "marker",
                f"{folder}/ is half-written (an interrupted convert?)",
                "run convert again",
            )
        if not stats_path.exists():
            continue  # not a corpus convert wrote
        try:
            recorded = json.loads(stats_path.read_text(encoding="utf8")).get("outputs_md5")
        except (OSError, ValueError, AttributeError):
            recorded = None
        if not isinstance(recorded, dict):
            raise CorpusError(
                stats_path,
                "outputs_md5",
                f"no checksums of the .spacy files: {folder}/ was written by an older or interrupted convert",
                "run convert again",
            )
        if path.name in recorded and recorded[path.name] != checksum(path):
            raise CorpusError(
                stats_path,
                "outputs_md5",
                f"{path} does not match the corpus stats.json describes: {folder}/ is half-written "
                "(an interrupted convert?)",
                "run convert again",
            )


@contextmanager
def counting_steps(counter: dict[str, int]) -> Iterator[None]:
    """Record the last step spaCy's training loop takes: its log has only the evaluated steps, and patience or
    max_epochs may stop it between two of them."""
    real = spacy_loop.train_while_improving

    def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for batch, info, is_best in real(*args, **kwargs):
            counter["step"] = info["step"]
            yield batch, info, is_best

    spacy_loop.train_while_improving = counted
    try:
        yield
    finally:
        spacy_loop.train_while_improving = real


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
    scratch = output_dir / ".train-scratch"
    with run_lock(scratch):  # two runs in one project would train into the same scratch folder
        return _train_locked(
            config=config,
            output_dir=output_dir,
            scratch=scratch,
            train_path=train_path,
            dev_path=dev_path,
            gpu_id=gpu_id,
            seed=seed,
            max_steps=max_steps,
            init_dir=init_dir,
            vectors_dir=vectors_dir,
            transformer=transformer,
        )


def _train_locked(
    *,
    config: Path,
    output_dir: Path,
    scratch: Path,
    train_path: Path,
    dev_path: Path,
    gpu_id: int,
    seed: int | None,
    max_steps: int | None,
    init_dir: Path | None,
    vectors_dir: Path | None,
    transformer: str | None,
) -> list[Path]:
    # long: mostly the training summary, one field per line
    started = time.perf_counter()
    check_corpus([train_path, dev_path])
    overrides: dict[str, Any] = {"paths.train": str(train_path), "paths.dev": str(dev_path)}
    if seed is not None:
        overrides["system.seed"] = seed
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    schedule = schedule_overrides(config, overrides, max_steps)
    if schedule:
        total = configured_schedule(config, overrides)["total_steps"]
        print(
            f"ℹ learn_rate schedule: total_steps {total} in {config} set to max_steps {max_steps}, "
            "so that the decay ends with training",
            flush=True,
        )
    overrides.update(schedule)
    manifest = read_manifest(init_dir) if init_dir is not None else {"vectors": None, "init_tok2vec": None}
    init = init_overrides(config, init_dir, manifest, vectors_dir) if init_dir is not None or vectors_dir else {}
    overrides.update(init)
    overrides.update(transformer_overrides(config, transformer, gpu_id))
    remove_path(scratch)
    logger = util.load_config(config, interpolate=False)["training"].get("logger", {})
    if "output_file" not in logger:
        raise typer.BadParameter(
            f"{config}: [training.logger] has no output_file, so no machine-readable log can be written. "
            'Use @loggers = "spacy.ConsoleLogger.v3" with output_file = null in the base config'
        )
    overrides["training.logger.output_file"] = str(scratch / "log.jsonl")
    setup_gpu(gpu_id)
    counter: dict[str, int] = {}
    with counting_steps(counter):
        spacy_train(config, scratch, use_gpu=gpu_id, overrides=overrides)
    log = [json.loads(line) for line in (scratch / "log.jsonl").read_text(encoding="utf8").splitlines() if line.strip()]
    scored = [row for row in log if row.get("score") is not None]
    best_score = max((row["score"] for row in scored), default=None)
    summary = {
        "seconds": round(time.perf_counter() - started, 1),
        # steps trained, the loop's last step; the log has only the evaluated ones
        "steps": counter.get("step", log[-1]["step"] if log else 0),
        "last_eval_step": log[-1]["step"] if log else None,
        # spaCy saves model-best at every evaluation that equals the best score so far: the last such row
        "best_step": [row["step"] for row in scored if row["score"] == best_score][-1] if scored else None,
        "best_score": best_score,
        "seed": seed,
        "max_steps": max_steps,
        "learn_rate_total_steps": schedule.get("training.optimizer.learn_rate.total_steps"),
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
    if schedule:
        summary["learn_rate_note"] = "the config's total_steps was set to max_steps"
    write_json(scratch / "train-summary.json", summary)
    fault_point("train:trained")
    missing = [name for name in RESULTS if not (scratch / name).exists()]
    if missing:
        raise RuntimeError(f"spacy train finished without writing {', '.join(missing)} in {scratch}")
    for name in RESULTS:
        replace_tree(scratch / name, output_dir / name)
        fault_point(f"train:moved:{name}")
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
    try:
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
    except (CorpusError, LockHeld) as e:
        typer.echo(f"✘ {e}", err=True)
        raise typer.Exit(1) from None
    except typer.BadParameter as e:
        typer.echo(f"✘ {e.message}", err=True)
        raise typer.Exit(1) from None
    for path in paths:
        typer.echo(f"✔ {path}")


if __name__ == "__main__":
    typer.run(main)
