"""Evaluate a trained pipeline on held-out data and write the scores as JSON."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Optional

import spacy
import typer
from spacy.cli._util import setup_gpu
from spacy.cli.evaluate import evaluate as spacy_evaluate

from pt_pipelines.files import write_json
from pt_pipelines.textio import CorpusError


def evaluate(model: Path, data: Path, output: Path, gpu_id: int = -1, silent: bool = False) -> dict[str, Any]:
    """Score `model` on `data` with spaCy's evaluator; write and return the scores."""
    started = time.perf_counter()
    print(f"evaluating {model} on {data}", flush=True)
    setup_gpu(gpu_id, silent=True)
    scores = spacy_evaluate(str(model), data, output=None, use_gpu=gpu_id, silent=silent)
    scores["seconds"] = round(time.perf_counter() - started, 2)
    write_json(output, scores)
    return scores


def with_entity_scores(scores: dict[str, Any], ner_scores: dict[str, Any]) -> dict[str, Any]:
    """UD scores with the entity scores of a second test set: each set scores what it annotates."""
    merged = dict(scores)
    for key in ("ents_p", "ents_r", "ents_f", "ents_per_type"):
        merged[key] = ner_scores.get(key)
    return merged


def result_record(scores: dict[str, Any], corpus: str, pipeline: str, summary: dict[str, Any]) -> dict[str, Any]:
    """What the README's results table is built from: headline test scores plus where and how they were made."""
    keys = (
        "token_acc",
        "pos_acc",
        "morph_acc",
        "lemma_acc",
        "dep_uas",
        "dep_las",
        "sents_f",
        "ents_p",
        "ents_r",
        "ents_f",
    )
    return {
        "corpus": corpus,
        "pipeline": pipeline,
        "split": "test",
        "scores": {k: scores[k] for k in keys if scores.get(k) is not None},
        "ents_per_type": scores.get("ents_per_type") or {},
        "words_per_s": scores.get("speed"),
        "train_seconds": summary.get("seconds"),
        # steps trained (the loop's last step), next to the last evaluated one and the one model-best is from
        "train_steps": summary.get("steps"),
        "last_eval_step": summary.get("last_eval_step"),
        "best_step": summary.get("best_step"),
        "max_steps": summary.get("max_steps"),
        "init_seconds": summary.get("init_seconds"),
        "seed": summary.get("seed"),
        "spacy_version": spacy.__version__,
        "python": platform.python_version(),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()}",
        "date": time.strftime("%Y-%m-%d"),
    }


def vectors_provenance(settings: dict[str, Any]) -> dict[str, Any]:
    """The outside vectors (init-vectors' settings) as a record names them: a file or folder by its name and
    md5, a package by name and version; where it lay on the training machine means nothing elsewhere."""
    source = str(settings.get("source", ""))
    named = source if settings.get("kind") == "package" else Path(source).name
    keep = ("kind", "md5", "version", "prune", "truncate")
    return {"source": named, **{k: settings[k] for k in keep if settings.get(k) is not None}}


def pipeline_kind(model: Path) -> tuple[str, str]:
    """What a trained pipeline is (full, ud or ner, from its components) and the base config it was filled from
    (fill_config.py keeps it in [paths]), for records of runs whose pipeline and base config were "auto"."""
    config = spacy.util.load_config(model / "config.cfg", interpolate=False)
    pipes = set(config["nlp"]["pipeline"])
    kind = "full" if {"parser", "ner"} <= pipes else "ner" if "ner" in pipes else "ud"
    return kind, str(config.get("paths", {}).get("base_config") or "")


def check_record_owner(*, record: Path, corpus: str, train_input: str) -> None:
    """Refuse to overwrite the record of another corpus or train input (two custom corpora share the name
    custom-<pipeline>.json unless the user names the runs)."""
    try:
        old = json.loads(record.read_text(encoding="utf8"))
    except FileNotFoundError:
        return
    except ValueError:
        old = None
    if not isinstance(old, dict):
        raise CorpusError(record, "record", "not a results record", "remove it, or pass --vars.run_name NAME")
    other = None
    if old.get("corpus") != corpus:
        other = f"corpus {old.get('corpus')!r}"
    elif train_input and old.get("train_input") not in (None, train_input):
        other = f"train input {old.get('train_input')}"
    if other is not None:
        raise CorpusError(
            record,
            "record",
            f"holds the results of {other}, not of this run ({corpus}, {train_input or 'no train input'})",
            "name this run with --vars.run_name NAME (the record becomes metrics/NAME-<pipeline>.json), or "
            "remove the old record",
        )


def main(
    model: Path = typer.Argument(..., exists=True, help="Trained pipeline folder"),
    data: Path = typer.Argument(..., exists=True, dir_okay=False, help="Held-out .spacy file (the test split)"),
    output: Path = typer.Option(Path("metrics/scores.json"), help="Where the scores JSON goes"),
    gpu_id: int = typer.Option(-1, help="GPU id, -1 for CPU"),
    record: Optional[Path] = typer.Option(
        None, help="Also write a results record here (metrics/<corpus>-<pipeline>.json)"
    ),
    corpus: str = typer.Option("", help="Corpus name for the record"),
    pipeline: str = typer.Option("", help="Pipeline name for the record"),
    summary: Optional[Path] = typer.Option(None, help="train-summary.json, for the record's training time"),
    ner_data: Optional[Path] = typer.Option(
        None, exists=True, dir_okay=False, help="A second test set the entity scores come from (the full pipeline)"
    ),
    ner_summary: Optional[Path] = typer.Option(None, help="train-summary.json of the NER pipeline"),
    base_config: str = typer.Option("", help="The base config trained, named in the record"),
    split: str = typer.Option("test", help="Which split data is (test, or dev: spaCy reports its models on dev)"),
    train_input: str = typer.Option("", help="The train input (vars.train_file), named in the record"),
    run_name: str = typer.Option("", help="The run's name (vars.run_name), named in the record"),
    extra_train: str = typer.Option("", help="vars.extra_train: named in the record where it adds data"),
) -> None:
    """Evaluate on the test split, print spaCy's score tables and write the JSON."""
    # long: one line per typer option, then the record's fields one by one
    if record is not None:
        try:  # before evaluating: the refusal costs nothing then
            check_record_owner(record=record, corpus=corpus, train_input=train_input)
        except CorpusError as e:
            typer.echo(f"✘ {e}", err=True)
            raise typer.Exit(1) from None
    scores = evaluate(model, data, output, gpu_id)
    if ner_data is not None:
        ner_scores = evaluate(model, ner_data, output, gpu_id)
        scores = {**with_entity_scores(scores, ner_scores), "ner_speed": ner_scores.get("speed")}
        write_json(output, scores)
    typer.echo(f"✔ {output}")
    if record is not None:
        train = json.loads(summary.read_text(encoding="utf8")) if summary and summary.exists() else {}
        if ner_summary is not None and ner_summary.exists() and train.get("seconds"):
            ner_train = json.loads(ner_summary.read_text(encoding="utf8"))
            train = {**train, "seconds": train["seconds"] + ner_train.get("seconds", 0), "steps": None}
        kind, filled_from = pipeline_kind(model)
        data = result_record(scores, corpus, kind if pipeline == "auto" else pipeline, train)
        if base_config.endswith("auto.cfg") and filled_from:
            base_config = f"auto: {filled_from}"
        data["split"] = split
        data["init"] = train.get("init", "none")
        if train_input:
            data["train_input"] = train_input
        if run_name:
            data["run_name"] = run_name
        if extra_train and extra_train != train_input:  # its default is the train input: nothing added
            data["extra_train"] = extra_train
        if train.get("raw_text"):
            raw = train["raw_text"]
            data["raw_text"] = {
                "md5": raw.get("md5"),
                "words": raw.get("words"),
                "held_out": raw.get("held_out"),
                # by file name and md5: where the files lay on the training machine means nothing elsewhere
                "inputs": {Path(i["path"]).name: i["md5"] for i in raw.get("inputs") or []},
            }
        if (train.get("vectors") or {}).get("source"):  # init-vectors ran with no vectors: settings, no source
            data["vectors"] = vectors_provenance(train["vectors"])
        if base_config:
            steps = train.get("max_steps")
            data["config"] = f"{base_config}, max_steps {steps}" if steps else base_config
            if data["init"] != "none":
                data["config"] += f", init {data['init']}"
            if data.get("extra_train"):
                data["config"] += f", extra_train {extra_train}"
            if data.get("vectors"):
                data["config"] += f", vectors {data['vectors']['source']}"
        write_json(record, data)
        typer.echo(f"✔ {record}")


if __name__ == "__main__":
    typer.run(main)
