"""Fail a step whose declared outputs are missing: weasel records md5 null for a missing output and then skips the
step forever; ending each spaCy CLI step with this check turns that into a loud failure.
"""

from pathlib import Path

import typer


def missing_outputs(paths: list[Path]) -> list[Path]:
    """The paths that do not exist or are empty directories."""
    return [p for p in paths if not p.exists() or (p.is_dir() and not any(p.iterdir()))]


def main(paths: list[Path] = typer.Argument(..., help="Outputs the step must have written")) -> None:
    """Exit 1 naming every declared output that is missing."""
    missing = missing_outputs(paths)
    for p in missing:
        typer.echo(f"✘ declared output was not produced: {p}", err=True)
    if missing:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
