"""What train reads of init-weights' folder: its manifest, and the config overrides that load what it holds.

Kept apart from the code that builds the folder (vectors.py, pretraining.py), so that editing that code
reruns init-weights, and train only when the folder it produces changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from spacy import util

MANIFEST = "init.json"
VECTORS_MANIFEST = "vectors.json"


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


def static_vector_keys(config: Any, prefix: str = "") -> list[str]:
    """The dotted keys of every include_static_vectors setting in the config (one per embed layer)."""
    keys = []
    if isinstance(config, dict):
        for key, value in config.items():
            dotted = f"{prefix}{key}"
            if key == "include_static_vectors":
                keys.append(dotted)
            keys += static_vector_keys(value, dotted + ".")
    return keys


def vector_overrides(config: Path, vectors: Path) -> dict[str, Any]:
    """Overrides that load the vectors pipeline at `vectors` and add it to every embed layer of the config."""
    keys = static_vector_keys(util.load_config(config, interpolate=False)["components"], "components.")
    if not keys:
        raise typer.BadParameter(f"{config}: no embed layer has include_static_vectors, so no vectors can be used")
    return {**{key: True for key in keys}, "paths.vectors": vectors.as_posix()}


def init_overrides(
    config: Path,
    init_dir: Path,
    manifest: Optional[dict[str, Any]] = None,
    vectors_dir: Optional[Path] = None,
) -> dict[str, Any]:
    """Config overrides for the tok2vec start that init_weights.py prepared in init_dir (its init.json) and the
    static vectors init_vectors.py prepared in vectors_dir (its vectors.json, when given)."""
    if manifest is None:
        manifest = read_manifest(init_dir)
    outside = read_vectors_manifest(vectors_dir) if vectors_dir is not None else None
    if outside is not None and outside.get("vectors"):
        if manifest["vectors"]:
            raise typer.BadParameter(
                "two sources of static vectors: --vars.vectors and --vars.init vectors. Choose one: "
                'set --vars.init none to use your vectors, or --vars.vectors "" to train floret vectors on raw text'
            )
        if manifest["init_tok2vec"]:
            raise typer.BadParameter(
                "--vars.vectors with --vars.init pretrain: spaCy's pretrain does not load static vectors, so the "
                "pretrained weights would not fit a tok2vec that has them. Use one of the two"
            )
        return vector_overrides(config, vectors_dir / outside["vectors"])
    overrides: dict[str, Any] = {}
    if manifest["vectors"]:
        overrides = vector_overrides(config, init_dir / manifest["vectors"])
    if manifest["init_tok2vec"]:
        check_pretraining_block(config)
        overrides["paths.init_tok2vec"] = (init_dir / manifest["init_tok2vec"]).as_posix()
    return overrides


def read_manifest(init_dir: Path) -> dict[str, Any]:
    """init_dir's init.json: the method, its files and its summary."""
    return json.loads((init_dir / MANIFEST).read_text(encoding="utf8"))


def read_vectors_manifest(vectors_dir: Path) -> Optional[dict[str, Any]]:
    """vectors_dir's vectors.json (init_vectors.py's settings and result), or None when there is none."""
    path = vectors_dir / VECTORS_MANIFEST
    return json.loads(path.read_text(encoding="utf8")) if path.exists() else None
