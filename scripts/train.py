"""Train configs/config.cfg with spaCy's `spacy train`, into a scratch folder swapped into place whole.

What trains is what the config says (fill-config wrote every setting into it): this script adds only what spaCy cannot
do, a lock against two runs in one project, a refusal of a half-written corpus, the JSONL log beside the model
(`training.logger.output_file`, where the log goes, not what trains) and the atomic swap of model-best, model-last,
log.jsonl and train-summary.json. `python -m spacy train configs/config.cfg --output DIR` trains the same model.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import spacy
import typer
from spacy.cli._util import setup_gpu
from spacy.cli.train import train as spacy_train

from pt_pipelines.errors import step_errors
from pt_pipelines.files import CONVERT_MARKER, checksum, fault_point, replace_tree, scratch_folder, write_json
from pt_pipelines.textio import CorpusError

RESULTS = ("model-best", "model-last", "log.jsonl", "train-summary.json")


def check_corpus(paths: list[Path]) -> None:
    """Refuse a corpus that convert did not finish writing: its stats.json (written last) records the md5 of
    every .spacy file, and convert keeps a marker in the folder while it moves the new files in."""
    for path in paths:
        folder, fix = path.parent, "run convert again"
        if (folder / CONVERT_MARKER).exists():
            raise CorpusError(folder / CONVERT_MARKER, "marker", f"{folder}/ is half-written (an interrupted convert?)", fix)
        stats_path = folder / "stats.json"
        if not stats_path.exists():
            continue  # not a corpus convert wrote
        try:
            recorded = json.loads(stats_path.read_text(encoding="utf8")).get("outputs_md5")
        except (OSError, ValueError, AttributeError):
            recorded = None
        if not isinstance(recorded, dict):
            problem = f"no checksums of the .spacy files: {folder}/ was written by an older or interrupted convert"
            raise CorpusError(stats_path, "outputs_md5", problem, fix)
        if path.name in recorded and recorded[path.name] != checksum(path):
            problem = f"{path} does not match the corpus stats.json describes: {folder}/ is half-written"
            raise CorpusError(stats_path, "outputs_md5", f"{problem} (an interrupted convert?)", fix)


def run_id(config: Path, inputs: list[Path]) -> str:
    """What a run trained, in 12 hex digits: the complete config and the md5 of every file it loads (data,
    vectors, pretrained weights). Two runs that differ in a lever or one dev sentence differ here."""
    parts = [checksum(config)] + [f"{path}={checksum(path)}" for path in inputs if path.exists()]
    return hashlib.md5("\n".join(parts).encode("utf8")).hexdigest()[:12]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf8")) if path.is_file() else None


def summarize(config: Path, log: list[dict[str, Any]], seconds: float, gpu_id: int = -1) -> dict[str, Any]:
    """train-summary.json: the steps from the log (spaCy evaluates the last step: fill-config's eval_frequency
    divides max_steps, and patience stops right after an evaluation), the settings from the config."""
    cfg = spacy.util.load_config(config, interpolate=False)
    paths, training = cfg["paths"], cfg["training"]
    scored = [row for row in log if row.get("score") is not None]
    best = max((row["score"] for row in scored), default=None)
    inputs = [Path(p) for p in (paths["train"], paths["dev"], paths.get("vectors"), paths.get("init_tok2vec")) if p]
    # init-weights' manifest, in a folder above the pretrained weights or floret vectors the config loads
    loaded = [Path(p) for p in (paths.get("init_tok2vec"), paths.get("vectors")) if p]
    init = next((read_json(d / "init.json") for p in loaded for d in p.parents if (d / "init.json").is_file()), None) or {}
    vectors = (read_json(Path(paths["vectors"]).parent / "vectors.json") if paths.get("vectors_source") else None) or {}
    return {"run_id": run_id(config, inputs), "seconds": round(seconds, 1), "steps": log[-1]["step"] if log else 0,
            "last_eval_step": scored[-1]["step"] if scored else None,
            # spaCy saves model-best at every evaluation that equals the best score so far: the last such row
            "best_step": [row["step"] for row in scored if row["score"] == best][-1] if scored else None,
            "best_score": best, "seed": cfg["system"]["seed"], "max_steps": training["max_steps"],
            "init": init.get("init", "none"), "init_seconds": init.get("summary", {}).get("seconds"),
            "raw_text": init.get("raw_text") or vectors.get("raw_text"), "vectors": vectors.get("settings"),
            "transformer": cfg["components"].get("transformer", {}).get("model", {}).get("name"), "gpu_id": gpu_id,
            "config": str(config), "config_md5": checksum(config), "spacy_version": spacy.__version__}


def train(*, config: Path, output_dir: Path, gpu_id: int = -1) -> list[Path]:
    """Train config into output_dir; return the paths of model-best, model-last, the log and the summary."""
    with scratch_folder(output_dir / ".train-scratch") as scratch:
        paths = spacy.util.load_config(config, interpolate=False)["paths"]
        check_corpus([Path(paths["train"]), Path(paths["dev"])])
        started = time.perf_counter()
        setup_gpu(gpu_id)
        spacy_train(config, scratch, use_gpu=gpu_id, overrides={"training.logger.output_file": str(scratch / "log.jsonl")})
        lines = (scratch / "log.jsonl").read_text(encoding="utf8").splitlines()
        log = [json.loads(line) for line in lines if line.strip()]
        write_json(scratch / "train-summary.json", summarize(config, log, time.perf_counter() - started, gpu_id))
        fault_point("train:trained")
        if missing := [name for name in RESULTS if not (scratch / name).exists()]:
            raise RuntimeError(f"spacy train finished without writing {', '.join(missing)} in {scratch}")
        for name in RESULTS:
            replace_tree(scratch / name, output_dir / name)
            fault_point(f"train:moved:{name}")
    return [output_dir / name for name in RESULTS]


def main(
    config: Path = typer.Argument(..., exists=True, dir_okay=False, help="The complete config (fill-config's)"),
    output_dir: Path = typer.Option(Path("training"), "--output", help="Folder for model-best, model-last, log.jsonl"),
    gpu_id: int = typer.Option(-1, help="GPU id, -1 for CPU"),
) -> None:
    """Train the config; write model-best, model-last, log.jsonl and train-summary.json."""
    with step_errors():
        for path in train(config=config, output_dir=output_dir, gpu_id=gpu_id):
            typer.echo(f"✔ {path}")


if __name__ == "__main__":
    typer.run(main)
