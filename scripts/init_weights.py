"""Prepare what the tok2vec starts from, in training/init as the filled config loads it: nothing (none), floret vectors
trained on the raw text (vectors: training/init/vectors) or the tok2vec pretrained on it by spacy pretrain (pretrain:
training/init/pretrain/model-last.bin). The folder holds init.json (the method, what it was built from and a summary)
and those files; it is moved into place whole, and left as it is when what it would be built from is unchanged (the
config changed elsewhere, e.g. max_steps), so a 10-minute floret run is not repeated.
"""

import json
from pathlib import Path
from typing import Any

import typer
from spacy import util

from pt_pipelines.choices import choices
from pt_pipelines.errors import ConfigError, step_errors
from pt_pipelines.files import checksum, replace_tree, scratch_folder, write_json
from pt_pipelines.pretraining import pretrain
from pt_pipelines.vectors import train_vectors

MANIFEST = "init.json"
Method = choices("Method", ("none", "vectors", "pretrain"))


def built_from(method: Method, raw_text: Path, config: Path, vectors: dict[str, Any]) -> dict[str, Any]:
    """What the folder's content follows from: the raw text, and the floret settings or the config blocks that
    pretraining reads (its [pretraining], the tok2vec it pretrains, the seed) and the static vectors it loads."""
    if method is Method.none:
        return {}
    source: dict[str, Any] = {"raw_text_md5": checksum(raw_text)}
    if method is Method.vectors:
        return {**source, **vectors}
    cfg = util.load_config(config, interpolate=False)
    block = cfg["pretraining"]
    parts = {"pretraining": block, "seed": cfg["system"]["seed"], "component": cfg["components"][block["component"]]}
    if static := cfg["paths"].get("vectors"):
        if not Path(static).exists():
            raise ConfigError(f"{config} loads static vectors from {static}, which does not exist: run init-vectors first "
                "(the all workflow runs it before init-weights)")
        source["vectors_md5"] = checksum(static)
    return {**source, "config": json.dumps(parts, sort_keys=True, default=str)}


def init_weights(*, method: Method, output_dir: Path, raw_text: Path, config: Path, lang: str = "pt", gpu_id: int = -1,
        vectors_dim: int = 100, vectors_bucket: int = 50000, vectors_epochs: int = 20, n_process: int = 1,
        vectors_threads: int = 1) -> dict[str, Any]:
    """Build output_dir for `method` unless it holds the same already; return its manifest."""
    floret = {"dim": vectors_dim, "bucket": vectors_bucket, "epochs": vectors_epochs, "lang": lang}
    if vectors_threads > 1:  # threads race, so the table differs; named only then, so one-thread tables stay built
        floret["threads"] = vectors_threads
    source = built_from(method, raw_text, config, floret)
    old_path = output_dir / MANIFEST
    old = json.loads(old_path.read_text(encoding="utf8")) if old_path.is_file() else None
    if old and old.get("init") == method.value and old.get("built_from") == source:
        return {**old, "changed": False}
    if method is not Method.none and not raw_text.stat().st_size:
        raise ConfigError(f"{raw_text} is empty (raw-text removed every dev and test sentence): point --vars.raw_text at "
            "text other than the evaluated splits")
    with scratch_folder(output_dir.with_name(f".{output_dir.name}-scratch")) as scratch:
        manifest: dict[str, Any] = {"init": method.value, "built_from": source}
        raw_summary = raw_text.with_name(raw_text.name + ".json")  # raw_text.py's summary: md5s, words
        if method is not Method.none and raw_summary.exists():
            raw = json.loads(raw_summary.read_text(encoding="utf8"))
            manifest["raw_text"] = {k: raw.get(k) for k in ("md5", "words", "texts", "inputs", "held_out")}
        if method is Method.vectors:
            manifest["summary"] = train_vectors(raw_text, scratch / "vectors", lang, vectors_dim, vectors_bucket,
                vectors_epochs, n_process=n_process, threads=vectors_threads)
        elif method is Method.pretrain:
            manifest["summary"] = pretrain(config, scratch / "pretrain", gpu_id)
        write_json(scratch / MANIFEST, manifest)
        replace_tree(scratch, output_dir)
    return {**manifest, "changed": True}


def main(
    method: Method = typer.Argument(..., help="none, vectors or pretrain (the same init fill-config was given)"),
    raw_text: Path = typer.Option(..., "--raw-text", exists=True, dir_okay=False, help="raw-text's JSONL"),
    config: Path = typer.Option(..., exists=True, dir_okay=False, help="Filled config (pretrain follows it)"),
    output_dir: Path = typer.Option(Path("training/init"), "--output", help="The folder the config loads from"),
    lang: str = typer.Option("pt", help="Language, for the vectors' tokenizer"),
    gpu_id: int = typer.Option(-1, help="GPU id for pretraining, -1 for CPU"),
    vectors_dim: int = typer.Option(100, min=10, help="vectors: width"),
    vectors_bucket: int = typer.Option(50000, min=1000, help="vectors: rows of the subword hash table"),
    vectors_epochs: int = typer.Option(20, min=1, help="vectors: passes over the raw text"),
    n_process: int = typer.Option(1, min=1, help="vectors: processes tokenizing the raw text"),
    vectors_threads: int = typer.Option(1, min=1, help="vectors: floret threads (1: the same vectors every run)"),
) -> None:
    """Prepare the tok2vec's starting point (none, vectors or pretrain) in training/init."""
    with step_errors():
        manifest = init_weights(method=method, output_dir=output_dir, raw_text=raw_text, config=config, lang=lang,
            gpu_id=gpu_id, vectors_dim=vectors_dim, vectors_bucket=vectors_bucket, vectors_epochs=vectors_epochs,
            n_process=n_process, vectors_threads=vectors_threads)
    typer.echo(f"✔ {output_dir} ({method.value}, {'written' if manifest['changed'] else 'unchanged'})")


if __name__ == "__main__":
    typer.run(main)
