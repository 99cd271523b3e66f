"""Remove the generated outputs of every command in project.yml; never assets. What is removed is read from the
commands' `outputs` (not `outputs_no_cache`, which hold corpus inputs), resolved with the default vars. Anything under
assets/ or docs/ (docs/results.md is a tracked output) or outside the project folder is refused.
"""

import os
from pathlib import Path

import typer
from weasel.util import load_project_config

from pt_pipelines.files import remove_path


def outside(path: Path, root: Path) -> bool:
    """Whether path is not strictly inside root, or is (in) root's assets/ or docs/."""
    kept = (root / "assets", root / "docs")
    return root not in path.parents or any(path == k or k in path.parents for k in kept)


def generated_outputs(project_dir: Path) -> list[Path]:
    """The existing output paths declared by project.yml's commands, inside the project, outside assets/."""
    root = project_dir.resolve()
    found: list[Path] = []
    for cmd in load_project_config(project_dir).get("commands", []):
        for out in cmd.get("outputs", []):
            # The output itself is never resolved: when it is a link (corpus/train.spacy -> ../data/train.spacy),
            # the link is what gets removed, never the user's file or folder it points to. Its folder is resolved,
            # so that a link to a folder cannot lead the removal into assets/ or out of the project.
            lexical = Path(os.path.abspath(project_dir / out))
            path = lexical.parent.resolve() / lexical.name
            if outside(lexical, Path(os.path.abspath(project_dir))) or outside(path, root):
                continue
            if (path.exists() or path.is_symlink()) and path not in found:
                found.append(path)
    return found


def main(project_dir: Path = typer.Option(Path("."), help="Project folder with project.yml"),
        dry: bool = typer.Option(False, "--dry", help="Only print what would be removed")) -> None:
    """Remove generated outputs so that the next run starts from the raw corpus."""
    paths = generated_outputs(project_dir)
    for path in paths:
        link = " (a link: only the link)" if path.is_symlink() else ""
        typer.echo(f"{'would remove' if dry else 'removed'} {path.relative_to(project_dir.resolve())}{link}")
        if not dry:
            remove_path(path)
    if not paths:
        typer.echo("nothing to clean")


if __name__ == "__main__":
    typer.run(main)
