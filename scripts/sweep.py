"""Hyperparameter sweep: trials of `spacy train` with sampled config overrides, run in parallel on Ray Tune.

The search space is a small YAML file (configs/sweep.yml). Trials are sampled with the seed, so a sequential run
(--backend sequential, the benchmark's baseline) trains exactly the same trials. Each trial reports every dev
evaluation to Tune; ASHA stops the worst early.
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any, Optional

import spacy
import srsly
import typer
from spacy import util

from pt_pipelines.choices import choices
from pt_pipelines.distributed.ray_setup import init_ray, ray
from pt_pipelines.distributed.tune_trial import pack_paths, run_trial, tune_trainable
from pt_pipelines.errors import ConfigError, StepError, step_errors
from pt_pipelines.files import checksum, remove_path, write_json, write_text

DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")
SCHEDULERS = ("asha", "fifo")
Backend = choices("Backend", ("ray", "sequential"))
SETTINGS = {"num_samples": 8, "max_steps": 1000, "eval_frequency": 100, "metric": "score", "scheduler": "asha",
            "grace_period": 200, "reduction_factor": 2}  # fmt: skip
# what Ray Tune adds to each reported row; the rest is what tune_trial reported
TUNE_COLUMNS = {"timestamp", "checkpoint_dir_name", "done", "training_iteration", "trial_id", "date", "time_total_s",
                "time_this_iter_s", "pid", "hostname", "node_ip", "time_since_restore", "iterations_since_restore"}


def distribution_problem(dist: Any) -> Optional[str]:
    """What is wrong with one `space:` entry, or None."""
    if not isinstance(dist, dict) or len(dist) != 1 or next(iter(dist)) not in DISTRIBUTIONS:
        return f"write one of {', '.join(f'{{{d}: [...]}}' for d in DISTRIBUTIONS)}"
    ((kind, args),) = dist.items()
    if not isinstance(args, list) or not args:
        return f"{kind} takes a list, e.g. {{{kind}: [1, 2]}}"
    if kind != "choice" and (len(args) != 2 or not all(isinstance(a, (int, float)) for a in args) or args[0] > args[1]):
        return f"{kind} takes [low, high] numbers with low <= high"
    if kind == "loguniform" and args[0] <= 0:
        return "loguniform needs low > 0"
    if kind == "randint" and not all(isinstance(a, int) for a in args):
        return "randint takes integers"
    return None


def load_sweep(path: Path, **overrides: Optional[int]) -> dict[str, Any]:
    """Read and check the sweep file, with the command line's overrides; raise a ConfigError naming the key."""
    try:
        spec = srsly.read_yaml(path)
    except Exception as e:  # ruamel's errors carry the line and column
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("space"), dict) or not spec["space"]:
        raise ConfigError(f"{path}: no `space:` mapping of dotted config keys to distributions")
    for key, dist in spec["space"].items():
        if problem := distribution_problem(dist):
            raise ConfigError(f"{path}: space.{key}: {problem}")
    for key, default in SETTINGS.items():
        value = spec[key] = overrides.get(key) or spec.get(key, default)
        if not isinstance(value, type(default)) or (isinstance(default, int) and value < 1):
            raise ConfigError(f"{path}: {key}: expected a {'positive integer' if isinstance(default, int) else 'name'}")
    if spec["scheduler"] not in SCHEDULERS:
        raise ConfigError(f"{path}: scheduler: use one of {', '.join(SCHEDULERS)}")
    if spec["eval_frequency"] > spec["max_steps"]:
        raise ConfigError(f"{path}: eval_frequency {spec['eval_frequency']} > max_steps {spec['max_steps']}: "
            "a trial would report no score to compare")
    return spec


def check_keys(filled: Any, base_config: Path, keys: list[str], sweep_path: Path) -> None:
    """Every swept key must be a setting of the filled base config, or the trial would fail late."""
    for key in keys:
        try:
            node = util.dot_to_object(filled, key)
        except KeyError:
            raise ConfigError(f"{sweep_path}: space.{key}: {base_config} (filled) has no such setting") from None
        if isinstance(node, dict):
            raise ConfigError(f"{sweep_path}: space.{key}: is a section, not a value: name a setting inside it")


def sample_trials(space: dict[str, Any], num_samples: int, seed: int) -> list[dict[str, Any]]:
    """num_samples value sets drawn from the space; the same seed gives the same trials."""
    rng = random.Random(seed)
    draw = {"choice": lambda a: rng.choice(a), "randint": lambda a: rng.randint(a[0], a[1]),
            "uniform": lambda a: float(f"{rng.uniform(a[0], a[1]):.4g}"),
            "loguniform": lambda a: float(f"{math.exp(rng.uniform(math.log(a[0]), math.log(a[1]))):.4g}")}
    return [{key: draw[kind](args) for key, dist in space.items() for kind, args in dist.items()}
            for _ in range(num_samples)]


def summarise(params: dict[str, Any], history: list[dict[str, Any]], spec: dict[str, Any], error: str = ""):
    """One trial's record: its values, best score and step, and whether it ran to the end."""
    metric = spec["metric"]
    history = [{k: v for k, v in row.items() if k not in TUNE_COLUMNS and not k.startswith("config/")} for row in history]
    scored = [row for row in history if metric in row]
    best = max(scored, key=lambda row: row[metric], default=None)
    last_step = history[-1]["step"] if history else 0
    last_evaluation = spec["max_steps"] // spec["eval_frequency"] * spec["eval_frequency"]
    status = "error" if error else ("finished" if last_step >= last_evaluation else "stopped early")
    return {"params": params, "best": best[metric] if best else None, "best_step": best["step"] if best else None,
            "last_step": last_step, "status": status, "scores_at_best": best, **({"error": error} if error else {})}


def run_sequential(trials: list[dict[str, Any]], settings: dict[str, Any], workdir: Path, spec: dict[str, Any]):
    records = []
    for i, params in enumerate(trials):
        history: list[dict[str, Any]] = []
        run_trial(params, workdir=workdir / f"trial_{i:03d}", reporter=history.append, **settings)
        records.append(summarise(params, history, spec))
    return records


def run_ray(trials, settings, storage: Path, spec: dict[str, Any], cpus: int):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    print(f"sweeping on {init_ray(cpus)}", flush=True)
    grace_period = min(spec["grace_period"], spec["max_steps"])
    scheduler = ASHAScheduler(time_attr="step", max_t=spec["max_steps"], grace_period=grace_period,
                              reduction_factor=spec["reduction_factor"]) if spec["scheduler"] == "asha" else None
    tuner = tune.Tuner(tune.with_resources(tune.with_parameters(tune_trainable, **settings), {"cpu": 1}),
        param_space={"trial": tune.grid_search([{"index": i, "params": p} for i, p in enumerate(trials)])},
        tune_config=tune.TuneConfig(metric=spec["metric"], mode="max", scheduler=scheduler),
        run_config=tune.RunConfig(name="sweep", storage_path=str(storage.resolve()), verbose=1))
    grid = tuner.fit()
    for model in (storage / "sweep").rglob("spacy/model"):  # left by trials that ASHA stopped mid-training
        remove_path(model)
    records: list[Any] = [None] * len(trials)
    for result in grid:
        frame = result.metrics_dataframe
        history = frame.to_dict("records") if frame is not None else []
        error = str(result.error).strip().splitlines()[-1] if result.error else ""  # the cause, not Ray's frame
        trial = result.config["trial"]
        # kept in the sampled order, not completion order, so that runs compare line by line
        records[trial["index"]] = summarise(trial["params"], history, spec, error)
    return records


def write_best_config(filled: Any, base_config: Path, best: dict[str, Any], path: Path, metric: str) -> None:
    config = util.load_config_from_str(filled.to_str(), overrides=best["params"], interpolate=False)
    values = ", ".join(f"{k} = {v}" for k, v in best["params"].items())
    header = (f"# Written by scripts/sweep.py: {base_config} filled, with the best trial's values ({values});\n"
              f"# dev {metric} {best['best']:.4f} at step {best['best_step']}. Train with --vars.base_config {path}\n")
    write_text(path, header + config.to_str())


def sweep(*, base_config: Path, sweep_path: Path, train_path: Path, dev_path: Path, best_path: Path, output: Path,
        storage: Path, cpus: int = 2, seed: int = 0, backend: str = "ray", num_samples: Optional[int] = None,
        max_steps: Optional[int] = None, eval_frequency: Optional[int] = None) -> dict[str, Any]:  # fmt: skip
    """Run the sweep; write the best config and metrics/sweep.json; return what was written there."""
    spec = load_sweep(sweep_path, num_samples=num_samples, max_steps=max_steps, eval_frequency=eval_frequency)
    # the base config with every default filled in, as `spacy init fill-config` writes it
    filled = util.load_model_from_config(util.load_config(base_config), auto_fill=True, validate=True).config
    check_keys(filled, base_config, list(spec["space"]), sweep_path)
    trials = sample_trials(spec["space"], spec["num_samples"], seed)
    settings = {"base_config": filled.to_str(), "train": train_path.read_bytes(), "dev": dev_path.read_bytes(),
                "max_steps": spec["max_steps"], "eval_frequency": spec["eval_frequency"], "seed": seed,
                "inputs": pack_paths(filled)}
    started = time.perf_counter()
    remove_path(storage / "sweep")  # this sweep's folder only: --storage may hold other things
    records = (run_ray(trials, settings, storage, spec, cpus) if backend == "ray"
               else run_sequential(trials, settings, storage / "sweep", spec))
    seconds = round(time.perf_counter() - started, 1)
    scored = [r for r in records if r["best"] is not None]
    if not scored:
        errors = "; ".join(r.get("error", "no evaluation reported") for r in records)
        raise StepError(f"no trial reported a {spec['metric']!r} score: {errors}")
    best = max(scored, key=lambda r: r["best"])
    result = {"metric": spec["metric"], "best": best, "trials": records, "backend": backend, "cpus": cpus, "seed": seed,
              "scheduler": spec["scheduler"] if backend == "ray" else "fifo", "seconds": seconds,
              "steps_trained": sum(r["last_step"] for r in records), "num_samples": spec["num_samples"],
              "max_steps": spec["max_steps"], "base_config": str(base_config), "base_config_md5": checksum(base_config),
              "sweep_file": str(sweep_path), "space": spec["space"], "ray_version": ray.__version__,
              "spacy_version": spacy.__version__}  # fmt: skip
    write_best_config(filled, base_config, best, best_path, spec["metric"])
    write_json(output, result)
    return result


def main(base_config: Path = typer.Argument(..., exists=True, dir_okay=False, help="Base config the trials start from"),
        sweep_path: Path = typer.Option(Path("configs/sweep.yml"), "--space", exists=True, help="Search space (YAML)"),
        train_path: Path = typer.Option(..., "--train", exists=True, dir_okay=False, help="Training .spacy file"),
        dev_path: Path = typer.Option(..., "--dev", exists=True, dir_okay=False, help="Development .spacy file"),
        best_path: Path = typer.Option(Path("configs/best.cfg"), "--best", help="Where the best config goes"),
        output: Path = typer.Option(Path("metrics/sweep.json"), "--output", help="Every trial's scores"),
        storage: Path = typer.Option(Path("training/sweep"), help="Trial folders (each trial its own)"),
        cpus: int = typer.Option(2, min=1, help="CPUs of the local Ray, one per trial (ignored with RAY_ADDRESS)"),
        seed: int = typer.Option(0, help="Seed for sampling the trials and for training"),
        backend: Backend = typer.Option(Backend.ray, help="ray (parallel trials, ASHA) or sequential (one after another)"),
        num_samples: int = typer.Option(0, min=0, help="Override the sweep file's num_samples"),
        max_steps: int = typer.Option(0, min=0, help="Override the sweep file's max_steps"),
        eval_frequency: int = typer.Option(0, min=0, help="Override the sweep file's eval_frequency")) -> None:
    """Sweep hyperparameters on Ray Tune; write the best config and every trial's scores."""
    if best_path.resolve() == base_config.resolve():
        typer.echo(f"✘ --best {best_path} would overwrite the base config: sweep from another config", err=True)
        raise typer.Exit(2)
    with step_errors():
        result = sweep(base_config=base_config, sweep_path=sweep_path, train_path=train_path, dev_path=dev_path,
            best_path=best_path, output=output, storage=storage, cpus=cpus, seed=seed, backend=backend.value,
            num_samples=num_samples or None, max_steps=max_steps or None,
            eval_frequency=eval_frequency or None)  # fmt: skip
    best = result["best"]
    stopped = sum(r["status"] == "stopped early" for r in result["trials"])
    typer.echo(f"✔ {len(result['trials'])} trials in {result['seconds']} s ({stopped} stopped early); best dev "
        f"{result['metric']} {best['best']:.4f} with {best['params']}: {best_path}, {output}")


if __name__ == "__main__":
    typer.run(main)
