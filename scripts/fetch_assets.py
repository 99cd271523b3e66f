"""Fetch the assets a corpus needs (project.yml assets under its inputs, --vars.train_file etc.) and verify every md5.
Missing ones with a URL are downloaded with weasel's own fetch (which also accepts a local path as URL). Unlike
`weasel assets`, which prints ✘ and exits 0, this exits non-zero on any problem.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import typer
from weasel.cli.assets import fetch_asset
from weasel.util import load_project_config

from pt_pipelines.errors import StepError, step_errors
from pt_pipelines.files import checksum


def corpus_assets(assets: list[dict[str, Any]], inputs: list[Path],
                  project_dir: Path = Path(".")) -> list[dict[str, Any]]:
    """The assets whose destination is one of `inputs` or lies inside one of them (paths relative to project_dir)."""
    roots = [(project_dir / p).resolve() for p in inputs]
    inside = lambda dest: any(dest == r or r in dest.parents for r in roots)  # noqa: E731
    return [asset for asset in assets if inside((project_dir / asset["dest"]).resolve())]


def find_in_mirror(mirror: Path, url: str, expected: str | None) -> Path | None:
    """A file under `mirror` with the URL's file name (and the expected md5, when one is declared)."""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    found = (path for path in sorted(mirror.rglob(name)) if path.is_file())
    return next((path for path in found if expected is None or checksum(path) == expected), None)


def check_asset(project_dir: Path, asset: dict[str, Any], mirror: Path | None = None) -> str | None:
    """Fetch the asset if missing and possible; return a problem, or None when it is in place."""
    dest = project_dir / asset["dest"]
    url, expected = asset.get("url"), asset.get("checksum")
    if not dest.exists() and url and mirror is not None and (local := find_in_mirror(mirror, url, expected)):
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, dest)
    if not dest.exists() and url:
        try:
            fetch_asset(project_dir, url, dest, expected)
        except Exception as e:  # network errors come in many types; all mean the same here
            return f"{asset['dest']}: could not download {url} ({type(e).__name__}: {e}). Download it by hand and save it as {dest}"
    if not dest.exists():
        where = f"download {url} and save it" if url else "put the file"
        return f"{asset['dest']}: missing. {where.capitalize()} at {dest}"
    if expected and (md5 := checksum(dest)) != expected:
        return changed_asset(asset["dest"], md5, expected, downloaded=bool(url))
    return None


def changed_asset(dest: str, md5: str, expected: str, downloaded: bool) -> str:
    """The problem of an asset edited in place: a checked asset stays as published (results on it compare), so
    an edited copy is run as the user's own corpus, which no checksum pins."""
    folder = Path(dest).parent.as_posix()
    mine = f"assets/my{Path(folder).name}"
    restore = "delete it to download it again" if downloaded else f"git checkout {dest}"
    return (f"{dest}: md5 is {md5}, project.yml expects {expected}: the file was changed. To train on your edited "
            f"version, run it as your own corpus: cp -r {folder} {mine} && python -m spacy project run all . "
            f"--vars.corpus my{Path(folder).name} (then {restore} to restore the original)")


def verify(project_dir: Path, inputs: list[Path], mirror: Path | None = None) -> list[str]:
    """Fetch and verify the assets of the corpus; return the problems found."""
    problems = []
    for asset in corpus_assets(load_project_config(project_dir).get("assets", []), inputs, project_dir):
        if problem := check_asset(project_dir, asset, mirror):
            problems.append(problem)
        else:
            typer.echo(f"✔ {asset['dest']}")
    return problems + [f"{path}: corpus input does not exist. Pass an existing file or folder with --vars.train_file / "
                       f"--vars.dev_file / --vars.test_file" for path in inputs if not (project_dir / path).exists()]


def main(
    inputs: list[Path] = typer.Argument(..., help="The corpus inputs: train, dev and test file or folder"),
    project_dir: Path = typer.Option(Path("."), help="Project folder with project.yml"),
    mirror: str = typer.Option("", help="Folder searched for missing assets (by name and md5) before downloading"),
) -> None:
    """Fetch the corpus's assets and fail unless every one is present with the right checksum."""
    with step_errors():
        if mirror and not Path(mirror).is_dir():
            raise StepError(f"--mirror {mirror}: not a folder")
        if problems := verify(project_dir, list(dict.fromkeys(inputs)), Path(mirror) if mirror else None):
            raise StepError("\n✘ ".join(problems))


if __name__ == "__main__":
    typer.run(main)
