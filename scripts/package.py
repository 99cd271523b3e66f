"""Package a trained pipeline with `spacy package` as a wheel and an sdist.

The package name is `<lang>_<name>`: spaCy takes the language prefix from the
pipeline's own config, so it is never hard-coded here. Description, authors
and licence come from configs/meta-template.json, overridden by the options.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Optional

import srsly
import typer
from spacy.cli.package import package as spacy_package

from pt_pipelines.files import LockHeld, fault_point, remove_path, replace_tree, run_lock


def package(
    model: Path,
    output_dir: Path,
    name: str,
    version: str,
    meta_template: Path,
    overrides: Optional[dict[str, str]] = None,
) -> list[Path]:
    """Build the wheel and sdist; return their paths."""
    meta = json.loads(meta_template.read_text(encoding="utf8"))
    meta.update({k: v for k, v in (overrides or {}).items() if v})
    meta.update({"name": name, "version": version})
    lang = srsly.read_json(model / "meta.json")["lang"]
    package_dir = output_dir / f"{lang}_{name}-{version}"
    output_dir.mkdir(parents=True, exist_ok=True)
    # built beside the old package and swapped in whole: a killed build leaves the old package as it was, and
    # a stale build of the same version is never mixed in
    scratch = output_dir / f".{package_dir.name}-build"
    with run_lock(scratch), tempfile.TemporaryDirectory() as tmp:
        remove_path(scratch)
        scratch.mkdir()
        try:
            meta_path = Path(tmp) / "meta.json"
            meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf8")
            spacy_package(
                model,
                scratch,
                meta_path=meta_path,
                name=name,
                version=version,
                create_sdist=True,
                create_wheel=True,
                force=True,
                # the Python function defaults to False (the CLI to True): without it the wheel installs without spaCy
                require_parent=True,
                silent=False,
            )
            built = sorted((scratch / package_dir.name / "dist").glob("*"))
            if not any(p.suffix == ".whl" for p in built) or not any(p.name.endswith(".tar.gz") for p in built):
                raise RuntimeError(f"spacy package did not build both a wheel and an sdist in {scratch}")
            fault_point("package:built")
            replace_tree(scratch / package_dir.name, package_dir)
        finally:
            remove_path(scratch)
    return sorted((package_dir / "dist").glob("*"))


def main(
    model: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained pipeline folder"),
    output_dir: Path = typer.Argument(Path("packages"), help="Where the package folder is created"),
    name: str = typer.Option(..., help="Package name without the language prefix"),
    version: str = typer.Option(..., help="Package version, e.g. 0.1.0"),
    meta_template: Path = typer.Option(Path("configs/meta-template.json"), exists=True, help="Meta defaults"),
    description: str = typer.Option("", help="Overrides the template's description"),
    author: str = typer.Option("", help="Overrides the template's author"),
    email: str = typer.Option("", help="Overrides the template's email"),
    url: str = typer.Option("", help="Overrides the template's url"),
    license: str = typer.Option("", "--license", help="Overrides the template's license"),
) -> None:
    """Build an installable wheel and sdist of the pipeline."""
    if not name.replace("_", "").isalnum():
        typer.echo(
            f"✘ --name {name!r}: use letters, digits and underscores (it becomes a Python package name)", err=True
        )
        raise typer.Exit(2)
    overrides = {"description": description, "author": author, "email": email, "url": url, "license": license}
    try:
        built = package(model, output_dir, name, version, meta_template, overrides)
    except LockHeld as e:
        typer.echo(f"✘ {e}", err=True)
        raise typer.Exit(1) from None
    for path in built:
        typer.echo(f"✔ {path}")


if __name__ == "__main__":
    typer.run(main)
