"""Prepare what the tok2vec starts from, for `train --init`: nothing, static vectors, or pretrained weights.

- none: spaCy's random initialization, as the quickstart does;
- vectors: floret vectors trained on the raw text (train_vectors.py), added to every embed layer as static
  vectors (include_static_vectors = true) through paths.vectors;
- pretrain: the tok2vec weights pretrained on the raw text by spacy pretrain (pretrain.py), loaded through
  paths.init_tok2vec.

The folder holds init.json (the method, its files and its summary) and those files; it is built beside the
output and moved into place whole, so train never sees half of it.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from pt_pipelines.files import LockHeld, remove_path, replace_tree, run_lock, write_json
from pt_pipelines.pretraining import pretrain
from pt_pipelines.vectors import train_vectors
from pt_pipelines.weights import MANIFEST


class Method(str, Enum):
    none = "none"
    vectors = "vectors"
    pretrain = "pretrain"


def init_weights(
    method: Method,
    output_dir: Path,
    raw_text: Path,
    config: Path,
    lang: str = "pt",
    seed: int = 0,
    gpu_id: int = -1,
    pretrain_epochs: int = 10,
    vectors_dim: int = 100,
    vectors_bucket: int = 50000,
    vectors_epochs: int = 20,
    n_process: int = 1,
) -> dict[str, Any]:
    """Build output_dir for `method`; return its manifest (also written to output_dir/init.json)."""
    if method is not Method.none and not raw_text.stat().st_size:
        raise typer.BadParameter(
            f"{raw_text} is empty (raw-text removed every dev and test sentence): point --vars.raw_text at "
            "text other than the evaluated splits"
        )
    scratch = output_dir.with_name(f".{output_dir.name}-scratch")
    with run_lock(scratch):  # two runs in one project would build in the same scratch folder
        remove_path(scratch)
        scratch.mkdir(parents=True)
        try:
            manifest: dict[str, Any] = {"init": method.value, "vectors": None, "init_tok2vec": None}
            raw_summary = raw_text.with_name(raw_text.name + ".json")  # raw_text.py's summary: md5s, words
            if method is not Method.none and raw_summary.exists():
                raw = json.loads(raw_summary.read_text(encoding="utf8"))
                manifest["raw_text"] = {k: raw.get(k) for k in ("md5", "words", "texts", "inputs", "held_out")}
            if method is Method.vectors:
                manifest["vectors"] = "vectors"
                manifest["summary"] = train_vectors(
                    raw_text, scratch / "vectors", lang, vectors_dim, vectors_bucket, vectors_epochs, n_process
                )
            elif method is Method.pretrain:
                manifest["init_tok2vec"] = "pretrain/model-last.bin"
                manifest["summary"] = pretrain(config, scratch / "pretrain", raw_text, pretrain_epochs, seed, gpu_id)
            write_json(scratch / MANIFEST, manifest)
            replace_tree(scratch, output_dir)
        finally:
            remove_path(scratch)
        return manifest


def main(
    method: Method = typer.Argument(..., help="none, vectors or pretrain"),
    raw_text: Path = typer.Option(..., "--raw-text", exists=True, dir_okay=False, help="raw-text's JSONL"),
    config: Path = typer.Option(..., exists=True, dir_okay=False, help="Filled config (pretrain uses its tok2vec)"),
    output_dir: Path = typer.Option(Path("training/init"), "--output", help="Folder train --init reads"),
    lang: str = typer.Option("pt", help="Language, for the vectors' tokenizer"),
    seed: int = typer.Option(0, help="Random seed of pretraining"),
    gpu_id: int = typer.Option(-1, help="GPU id for pretraining, -1 for CPU"),
    pretrain_epochs: int = typer.Option(10, min=1, help="pretrain: passes over the raw text"),
    vectors_dim: int = typer.Option(100, min=10, help="vectors: width"),
    vectors_bucket: int = typer.Option(50000, min=1000, help="vectors: rows of the subword hash table"),
    vectors_epochs: int = typer.Option(20, min=1, help="vectors: passes over the raw text"),
    n_process: int = typer.Option(1, min=1, help="vectors: processes tokenizing the raw text"),
) -> None:
    """Prepare the tok2vec's starting point (none, vectors or pretrain) in training/init."""
    try:
        init_weights(
            method,
            output_dir,
            raw_text,
            config,
            lang,
            seed,
            gpu_id,
            pretrain_epochs,
            vectors_dim,
            vectors_bucket,
            vectors_epochs,
            n_process,
        )
    except LockHeld as e:
        typer.echo(f"✘ {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"✔ {output_dir} ({method.value})")


if __name__ == "__main__":
    typer.run(main)
