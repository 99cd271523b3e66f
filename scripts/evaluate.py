"""Evaluate a trained pipeline on held-out data: spaCy's scores as JSON, and the run's results record.

The record is named after the run (its name, the pipeline, and the run_id of train-summary.json: a hash of the
complete config and the data), so a rerun with a changed lever or one changed dev sentence is a new record
next to the old one, never an overwrite.
"""

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

from pt_pipelines.choices import Switch
from pt_pipelines.configs import pipeline_kind
from pt_pipelines.errors import step_errors
from pt_pipelines.files import write_json
from pt_pipelines.scoring import HEADLINE

# train-summary keys a record keeps; its seconds and steps (steps trained, the loop's last step, next to the last
# evaluated one and the one model-best is from) become train_seconds and train_steps
FROM_SUMMARY = ("run_id", "last_eval_step", "best_step", "max_steps", "init_seconds", "seed")


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
    return {**scores, **{key: ner_scores.get(key) for key in ("ents_p", "ents_r", "ents_f", "ents_per_type")}}


def result_record(scores: dict[str, Any], corpus: str, pipeline: str, summary: dict[str, Any]) -> dict[str, Any]:
    """What the results table is built from: headline scores plus where and how they were made."""
    return {"corpus": corpus, "pipeline": pipeline, "split": "test",
            "scores": {k: scores[k] for k in HEADLINE if scores.get(k) is not None},
            "ents_per_type": scores.get("ents_per_type") or {}, "words_per_s": scores.get("speed"),
            "train_seconds": summary.get("seconds"), "train_steps": summary.get("steps"),
            **{key: summary.get(key) for key in FROM_SUMMARY}, "init": summary.get("init", "none"),
            "spacy_version": spacy.__version__, "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
            "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()}"}


def vectors_provenance(settings: dict[str, Any]) -> dict[str, Any]:
    """The outside vectors (init-vectors' settings) as a record names them: a file or folder by its name and
    md5, a package by name and version; where it lay on the training machine means nothing elsewhere."""
    source = str(settings.get("source", ""))
    named = source if settings.get("kind") == "package" else Path(source).name
    keep = ("kind", "md5", "version", "prune", "truncate")
    return {"source": named, **{k: settings[k] for k in keep if settings.get(k) is not None}}


def provenance(record: dict[str, Any], summary: dict[str, Any], paths: dict[str, Any], extra_train: str,
        label_map: str = "", extra_partial: bool = False) -> None:
    """Add to the record what the run learned from beyond its corpus, and its config in a few words."""
    if raw := summary.get("raw_text"):
        record["raw_text"] = {k: raw.get(k) for k in ("md5", "words", "held_out")}
        if isinstance(held_out := raw.get("held_out"), dict):  # the held-out files by name, as the inputs below
            record["raw_text"]["held_out"] = {**held_out, "files": [Path(f).name for f in held_out.get("files") or []]}
        # by file name and md5: where the files lay on the training machine means nothing elsewhere
        record["raw_text"]["inputs"] = {Path(i["path"]).name: i["md5"] for i in raw.get("inputs") or []}
    if (summary.get("vectors") or {}).get("source"):
        record["vectors"] = vectors_provenance(summary["vectors"])
    config = str(paths.get("base_config") or "") + (f" + {paths['experiment']}" if paths.get("experiment") else "")
    extras = [("max_steps", summary.get("max_steps")), ("init", None if record["init"] == "none" else record["init"]),
              ("extra_train", extra_train), ("label_map", label_map),
              ("extra_partial", "(its non-entity tokens missing)" if extra_partial else None), ("vectors", record.get("vectors", {}).get("source"))]
    record["config"] = ", ".join([config] + [f"{name} {value}" for name, value in extras if value])


def write_record(record_path: str, scores: dict[str, Any], model: Path, summary: dict[str, Any],
        about: dict[str, str]) -> Path:
    """Write the run's record to record_path, whose {pipeline} and {run_id} are filled in; return the path."""
    config = spacy.util.load_config(model / "config.cfg", interpolate=False)
    pipeline = about["pipeline"] if about["pipeline"] not in ("", "auto") else pipeline_kind(config)
    record = {**result_record(scores, about["corpus"], pipeline, summary), "split": about["split"]}
    # extra_train's default is the train input: nothing added then
    extra = about.get("extra_train") if about.get("extra_train") != about.get("train_input") else ""
    # the labels of extra_train mapped onto the corpus's (convert's --label-map): part of what was trained on
    label_map = about.get("label_map", "") if extra else ""
    # extra_train's tokens outside an entity were missing, not O (convert's --extra-partial)
    partial = bool(extra and about.get("extra_partial"))
    named = {"train_input": about.get("train_input"), "run_name": about.get("run_name"), "extra_train": extra,
             "label_map": label_map, "extra_partial": partial}
    record.update({key: value for key, value in named.items() if value})
    provenance(record, summary, config.get("paths", {}), extra or "", label_map, partial)
    path = Path(record_path.replace("{pipeline}", pipeline).replace("{run_id}", str(summary.get("run_id"))))
    write_json(path, record)
    return path



def main(
    model: Path = typer.Argument(..., exists=True, help="Trained pipeline folder"),
    data: Path = typer.Argument(..., exists=True, dir_okay=False, help="Held-out .spacy file (the test split)"),
    output: Path = typer.Option(Path("metrics/scores.json"), help="Where the scores JSON goes"),
    gpu_id: int = typer.Option(-1, help="GPU id, -1 for CPU"),
    record: str = typer.Option("", help="Also write a results record here; {pipeline} and {run_id} are filled in"),
    corpus: str = typer.Option("", help="Corpus name for the record"),
    pipeline: str = typer.Option("auto", help="Pipeline name for the record; auto: full, ud or ner"),
    summary: Optional[Path] = typer.Option(None, help="train-summary.json: the run's id, steps and inputs"),
    ner_data: Optional[Path] = typer.Option(None, exists=True, dir_okay=False,
                                            help="A second test set the entity scores come from (the full pipeline)"),
    ner_summary: Optional[Path] = typer.Option(None, help="train-summary.json of the NER pipeline"),
    split: str = typer.Option("test", help="Which split data is (test, or dev: spaCy reports its models on dev)"),
    train_input: str = typer.Option("", help="The train input (vars.train_file), named in the record"),
    run_name: str = typer.Option("", help="The run's name (vars.run_name), named in the record"),
    extra_train: str = typer.Option("", help="vars.extra_train: named in the record where it adds data"),
    label_map: str = typer.Option("", help="vars.label_map: named in the record with extra_train"),
    extra_partial: Switch = typer.Option(Switch.false, help="vars.extra_partial: named in the record with extra_train"),
) -> None:
    """Evaluate on the test split, print spaCy's score tables and write the JSON and the record."""
    with step_errors():
        scores = evaluate(model, data, output, gpu_id)
        if ner_data is not None:
            ner_scores = evaluate(model, ner_data, output, gpu_id)
            scores = {**with_entity_scores(scores, ner_scores), "ner_speed": ner_scores.get("speed")}
            write_json(output, scores)
        typer.echo(f"✔ {output}")
        if not record:
            return
        train = json.loads(summary.read_text(encoding="utf8")) if summary and summary.exists() else {}
        if ner_summary is not None and ner_summary.exists() and train.get("seconds"):
            ner_train = json.loads(ner_summary.read_text(encoding="utf8"))
            train = {**train, "seconds": train["seconds"] + ner_train.get("seconds", 0), "steps": None}
        about = {"corpus": corpus, "pipeline": pipeline, "split": split, "train_input": train_input,
                 "run_name": run_name, "extra_train": extra_train, "label_map": label_map,
                 "extra_partial": extra_partial is Switch.true}
        typer.echo(f"✔ {write_record(record, scores, model, train, about)}")


if __name__ == "__main__":
    typer.run(main)
