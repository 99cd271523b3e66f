"""Pretrain the tok2vec layer on raw text with `spacy pretrain`, into a scratch folder, then into place.

The filled config must have a [pretraining] block (`spacy init fill-config --pretraining`, which the
fill-config step runs). The objective is the config's (spaCy's default: predict each word's first and last
characters). `train-pretrained` starts training from the model-last.bin written here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import spacy
import typer
from spacy import util
from spacy.cli._util import setup_gpu
from spacy.training.pretrain import pretrain as spacy_pretrain

from fileio import checksum, remove_path, replace_tree, write_json


def pretrain(config: Path, output_dir: Path, raw_text: Path, epochs: int, seed: int = 0, gpu_id: int = -1) -> Path:
    """Pretrain for `epochs` passes over raw_text; return the path of model-last.bin."""
    overrides = {"paths.raw_text": str(raw_text), "pretraining.max_epochs": epochs, "system.seed": seed}
    if not util.load_config(config, interpolate=False).get("pretraining"):
        raise typer.BadParameter(
            f"{config} has no [pretraining] block: fill the base config with "
            "`python -m spacy init fill-config <base> configs/config.cfg --pretraining` (the fill-config step does)"
        )
    raw_config = util.load_config(config, overrides=overrides, interpolate=False)
    scratch = output_dir.with_name(f".{output_dir.name}-scratch")
    remove_path(scratch)
    scratch.mkdir(parents=True)
    raw_config.to_disk(scratch / "config.cfg")  # what the weights were trained with, as spacy pretrain keeps it
    started = time.perf_counter()
    setup_gpu(gpu_id)
    spacy_pretrain(raw_config.interpolate(), scratch, use_gpu=gpu_id, silent=False)
    if not (scratch / "model-last.bin").is_file():
        raise RuntimeError(f"spacy pretrain finished without writing model-last.bin in {scratch}")
    # one row per epoch, then model-last's row (its epoch_loss already reset to 0)
    log = [json.loads(line) for line in (scratch / "log.jsonl").read_text(encoding="utf8").splitlines() if line]
    epoch_rows = [row for row in log if row["epoch"] < epochs]
    write_json(
        scratch / "pretrain-summary.json",
        {
            "seconds": round(time.perf_counter() - started, 1),
            "epochs": epochs,
            "words_per_epoch": epoch_rows[0]["nr_word"] if epoch_rows else 0,
            "epoch_losses": [round(row["epoch_loss"], 1) for row in epoch_rows],
            "seed": seed,
            "raw_text_md5": checksum(raw_text),
            "config_md5": checksum(config),
            "spacy_version": spacy.__version__,
        },
    )
    replace_tree(scratch, output_dir)
    return output_dir / "model-last.bin"


def main(
    config: Path = typer.Argument(..., exists=True, dir_okay=False, help="Filled config with a [pretraining] block"),
    raw_text: Path = typer.Option(..., "--raw-text", exists=True, dir_okay=False, help='JSONL of {"text": ...}'),
    output_dir: Path = typer.Option(Path("training/pretrain"), "--output", help="Folder for model*.bin and log.jsonl"),
    epochs: int = typer.Option(10, min=1, help="Passes over the raw text (pretraining.max_epochs)"),
    seed: int = typer.Option(0, help="Random seed (system.seed)"),
    gpu_id: int = typer.Option(-1, help="GPU id, -1 for CPU"),
) -> None:
    """Pretrain the tok2vec weights on raw text."""
    typer.echo(f"✔ {pretrain(config, output_dir, raw_text, epochs, seed, gpu_id)}")


if __name__ == "__main__":
    typer.run(main)
