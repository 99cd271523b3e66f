"""Pretrain the tok2vec layer on raw text with spaCy's `pretrain`, for `init_weights.py pretrain`.

The filled config must have a [pretraining] block (`spacy init fill-config --pretraining`, which the
fill-config step runs): spaCy also ignores init_tok2vec at training time without one. The objective is the
config's (spaCy's default: predict each word's first and last characters).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from spacy import util
from spacy.cli._util import setup_gpu
from spacy.training.pretrain import pretrain as spacy_pretrain

from fileio import remove_path


def check_pretraining_block(config: Path) -> dict[str, Any]:
    """The config's [pretraining] block; a BadParameter saying how to add it when it is missing or empty."""
    loaded = util.load_config(config, interpolate=False)
    block = loaded.get("pretraining")
    if not block:
        raise typer.BadParameter(
            f"{config} has no [pretraining] block, so spaCy would ignore pretrained weights: fill the base config "
            "with `python -m spacy init fill-config <base> configs/config.cfg --pretraining` (the fill-config step does)"
        )
    # spaCy would fail deep inside pretrain (a KeyError) on a pipeline without the component, e.g. a transformer one
    component = block.get("component")
    if component not in loaded["nlp"]["pipeline"]:
        reason = (
            "the transformer is pretrained already: use --vars.init none"
            if "transformer" in loaded["nlp"]["pipeline"]
            else "point [pretraining] component at the pipeline's tok2vec"
        )
        raise typer.BadParameter(
            f"{config}: [pretraining] pretrains the component {component!r}, which the pipeline "
            f"{loaded['nlp']['pipeline']} lacks: {reason}"
        )
    return block


def pretrain(
    config: Path, output_dir: Path, raw_text: Path, epochs: int, seed: int = 0, gpu_id: int = -1
) -> dict[str, Any]:
    """Pretrain for `epochs` passes over raw_text into output_dir (model-last.bin, log.jsonl); return a summary."""
    check_pretraining_block(config)
    overrides = {"paths.raw_text": str(raw_text), "pretraining.max_epochs": epochs, "system.seed": seed}
    raw_config = util.load_config(config, overrides=overrides, interpolate=False)
    output_dir.mkdir(parents=True, exist_ok=True)
    raw_config.to_disk(output_dir / "config.cfg")  # what the weights were trained with, as spacy pretrain keeps it
    started = time.perf_counter()
    setup_gpu(gpu_id)
    spacy_pretrain(raw_config.interpolate(), output_dir, use_gpu=gpu_id, silent=False)
    if not (output_dir / "model-last.bin").is_file():
        raise RuntimeError(f"spacy pretrain finished without writing model-last.bin in {output_dir}")
    # a row per saved model: per epoch (model<N>.bin), then model-last's (epoch == epochs, its loss reset to 0)
    log = [json.loads(line) for line in (output_dir / "log.jsonl").read_text(encoding="utf8").splitlines() if line]
    per_epoch = {row["epoch"]: row for row in log if row["epoch"] < epochs}
    words = per_epoch[0]["nr_word"] if 0 in per_epoch else 0
    if not words:
        corpus = raw_config["corpora"]["pretrain"]
        raise typer.BadParameter(
            f"{raw_text}: no text reached the model: every text is shorter than min_length "
            f"({corpus.get('min_length')}) or longer than max_length ({corpus.get('max_length')}) tokens "
            "of [corpora.pretrain]: give longer texts or change those limits in the base config"
        )
    for model in output_dir.glob("model[0-9]*.bin"):
        remove_path(model)  # the per-epoch snapshots: only model-last.bin is used
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "epochs": epochs,
        "words_per_epoch": words,
        "epoch_losses": [round(per_epoch[e]["epoch_loss"], 1) for e in sorted(per_epoch)],
        "seed": seed,
    }
