"""Keep a trained pipeline with its test split and training summary under models/<corpus>-<pipeline>. The next run of
`all` overwrites training/ and corpus/; a saved run stays, so that `assemble` can combine a UD pipeline and an NER
pipeline trained on different corpora and evaluate the result on both test sets.
"""

from pathlib import Path

import typer

from pt_pipelines.files import copy_tree

PARTS = ("model-best", "test.spacy", "train-summary.json")


def save_model(model: Path, test: Path, summary: Path, output_dir: Path) -> list[Path]:
    """Copy the model, the test split and the training summary into output_dir; return the new paths."""
    for name, source in zip(PARTS, (model, test, summary)):
        copy_tree(source, output_dir / name)
    return [output_dir / name for name in PARTS]


def main(model: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained pipeline (training/model-best)"),
        test: Path = typer.Argument(..., exists=True, dir_okay=False, help="Its test split (corpus/test.spacy)"),
        summary: Path = typer.Argument(..., exists=True, dir_okay=False, help="training/train-summary.json"),
        output_dir: Path = typer.Argument(..., help="models/<corpus>-<pipeline>")) -> None:
    """Save a trained pipeline, its test split and its training summary for assemble."""
    for path in save_model(model, test, summary, output_dir):
        typer.echo(f"✔ {path}")


if __name__ == "__main__":
    typer.run(main)
