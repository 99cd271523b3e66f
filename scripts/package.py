"""Package a trained pipeline with `spacy package` as a wheel and an sdist, named `<lang>_<name>`: spaCy takes the
language prefix from the pipeline's own config, so it is never hard-coded here. Unless the template or --description
gives one, the description (the wheel's summary) says what the pipeline is: its components, their entity labels and
its scores (--scores: evaluate's test scores).
"""

import json
from pathlib import Path
from typing import Any, Optional

import srsly
import typer
from spacy.cli.package import package as spacy_package
from spacy.util import get_lang_class

from pt_pipelines.errors import StepError, step_errors
from pt_pipelines.files import fault_point, replace_tree, scratch_folder
from pt_pipelines.scoring import HEADLINE

# what each trainable component adds, in a reader's words; shared embedding layers (tok2vec, transformer) add
# nothing a user calls, so they are left out of the description
TASKS = {"tagger": "tags", "morphologizer": "POS and morphology", "trainable_lemmatizer": "lemmas", "lemmatizer": "lemmas"}
TASKS |= {"parser": "dependencies", "senter": "sentences", "sentencizer": "sentences", "ner": "named entities"}


def describe(meta: dict[str, Any], scores: Optional[dict[str, Any]]) -> str:
    """One line: the language, each component with what it does (the entity labels for NER), and the headline
    scores in percent, on the test split when `scores` (evaluate's file) is given, else model-best's dev scores."""
    labels = {"ner": ": " + ", ".join(meta["labels"]["ner"])} if meta.get("labels", {}).get("ner") else {}
    parts = [f"{name} ({TASKS.get(name, name)}{labels.get(name, '')})"
             for name in meta.get("pipeline", []) if name not in ("tok2vec", "transformer")]
    split, found = ("test", scores) if scores else ("dev", meta.get("performance", {}))
    shown = [f"{label} {100 * found[k]:.1f}" for k, label in HEADLINE.items() if isinstance(found.get(k), (int, float))]
    where = f"; {split} split (%): {', '.join(shown)}" if shown else ""
    return f"{get_lang_class(meta['lang']).__name__} pipeline: {', '.join(parts) or 'tokenizer only'}{where}"


def read_test_scores(model_meta: dict[str, Any], scores_path: Optional[Path]) -> Optional[dict[str, Any]]:
    """The test scores of --scores, refused when they score a component the pipeline does not have."""
    if scores_path is None:
        return None
    try:
        scores = json.loads(scores_path.read_text(encoding="utf8"))
    except (OSError, ValueError) as e:
        raise StepError(f"--scores {scores_path}: not a readable scores file ({e})") from None
    dev = model_meta.get("performance") or {}
    if foreign := [k for k in HEADLINE if scores.get(k) is not None and k != "token_acc" and dev and k not in dev]:
        raise StepError(f"--scores {scores_path} scores {', '.join(foreign)}, which the pipeline does not have: pass the "
                        f"scores evaluate wrote for this pipeline")
    return scores


def package(model: Path, output_dir: Path, name: str, version: str, meta_template: Path,
            overrides: Optional[dict[str, str]] = None, scores: Optional[Path] = None) -> list[Path]:
    """Build the wheel and sdist; return their paths."""
    model_meta = srsly.read_json(model / "meta.json")
    meta = json.loads(meta_template.read_text(encoding="utf8"))
    meta.update({**{k: v for k, v in (overrides or {}).items() if v}, "name": name, "version": version})
    meta["description"] = meta.get("description") or describe(model_meta, read_test_scores(model_meta, scores))
    package_dir = output_dir / f"{model_meta['lang']}_{name}-{version}"
    # built beside the old package and swapped in whole: a killed build leaves the old package as it was, and
    # a stale build of the same version is never mixed in
    with scratch_folder(output_dir / f".{package_dir.name}-build") as scratch:
        meta_path = scratch / "meta.json"
        meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf8")
        # require_parent: the Python function defaults to False (the CLI to True): without it the wheel
        # installs without spaCy
        spacy_package(model, scratch, meta_path=meta_path, name=name, version=version, create_sdist=True,
                      create_wheel=True, force=True, require_parent=True, silent=False)
        built = sorted((scratch / package_dir.name / "dist").glob("*"))
        if not any(p.suffix == ".whl" for p in built) or not any(p.name.endswith(".tar.gz") for p in built):
            raise RuntimeError(f"spacy package did not build both a wheel and an sdist in {scratch}")
        fault_point("package:built")
        replace_tree(scratch / package_dir.name, package_dir)
    return sorted((package_dir / "dist").glob("*"))


def main(
    model: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained pipeline folder"),
    output_dir: Path = typer.Argument(Path("packages"), help="Where the package folder is created"),
    name: str = typer.Option(..., help="Package name without the language prefix"),
    version: str = typer.Option(..., help="Package version, e.g. 0.1.0"),
    meta_template: Path = typer.Option(Path("configs/meta-template.json"), exists=True, help="Meta defaults"),
    scores: str = typer.Option("", help="The test scores evaluate wrote for this pipeline, for the description"),
    description: str = typer.Option("", help="Overrides the description written from the pipeline and its scores"),
    author: str = typer.Option("", help="Overrides the template's author"),
    email: str = typer.Option("", help="Overrides the template's email"),
    url: str = typer.Option("", help="Overrides the template's url"),
    license: str = typer.Option("", "--license", help="Overrides the template's license"),
) -> None:
    """Build an installable wheel and sdist of the pipeline."""
    overrides = {"description": description, "author": author, "email": email, "url": url, "license": license}
    with step_errors():
        if not name.replace("_", "").isalnum():
            raise StepError(f"--name {name!r}: use letters, digits and underscores (it becomes a Python package name)")
        built = package(model, output_dir, name, version, meta_template, overrides, Path(scores) if scores else None)
    for path in built:
        typer.echo(f"✔ {path}")


if __name__ == "__main__":
    typer.run(main)
