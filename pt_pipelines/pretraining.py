"""Pretrain the tok2vec layer on raw text with spaCy's `pretrain`, for `init_weights.py pretrain`, from what
fill-config wrote in the config: [pretraining], [paths] raw_text and [system] seed.
"""

import time
from pathlib import Path
from typing import Any

import srsly
from spacy import util
from spacy.cli._util import setup_gpu
from spacy.training.pretrain import pretrain as spacy_pretrain

from pt_pipelines.errors import ConfigError
from pt_pipelines.files import remove_path


def pretrain(config: Path, output_dir: Path, gpu_id: int = -1) -> dict[str, Any]:
    """Pretrain as config says into output_dir (model-last.bin, log.jsonl); return a summary."""
    loaded = util.load_config(config, interpolate=False)
    if not loaded.get("pretraining"):
        raise ConfigError(f"{config} has no [pretraining] block: run fill-config, which adds it")
    output_dir.mkdir(parents=True, exist_ok=True)
    loaded.to_disk(output_dir / "config.cfg")  # what the weights were trained with, as spacy pretrain keeps it
    epochs = loaded["pretraining"]["max_epochs"]
    started = time.perf_counter()
    setup_gpu(gpu_id)
    spacy_pretrain(loaded.interpolate(), output_dir, use_gpu=gpu_id, silent=False)
    if not (output_dir / "model-last.bin").is_file():
        raise RuntimeError(f"spacy pretrain finished without writing model-last.bin in {output_dir}")
    # a row per saved model: per epoch (model<N>.bin), then model-last's (epoch == epochs, its loss reset to 0)
    per_epoch = {row["epoch"]: row for row in srsly.read_jsonl(output_dir / "log.jsonl") if row["epoch"] < epochs}
    words = per_epoch[0]["nr_word"] if 0 in per_epoch else 0
    if not words:
        corpus = loaded["corpora"]["pretrain"]
        raise ConfigError(f"{loaded['paths']['raw_text']}: no text reached the model: every text is shorter than min_length "
            f"({corpus.get('min_length')}) or longer than max_length ({corpus.get('max_length')}) tokens "
            "of [corpora.pretrain]: give longer texts or change those limits in the base config")
    for model in output_dir.glob("model[0-9]*.bin"):
        remove_path(model)  # the per-epoch snapshots: only model-last.bin is used
    return {"seconds": round(time.perf_counter() - started, 1), "epochs": epochs, "words_per_epoch": words,
            "epoch_losses": [round(per_epoch[e]["epoch_loss"], 1) for e in sorted(per_epoch)],
            "seed": loaded["system"]["seed"]}
