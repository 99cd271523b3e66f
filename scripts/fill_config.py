"""Fill the base config into configs/config.cfg with pt_pipelines/configs.py: the complete config, so that
`python -m spacy train configs/config.cfg --output DIR` alone trains what the workflow trains.
"""

from pathlib import Path

import typer

from pt_pipelines.configs import Settings, fill
from pt_pipelines.errors import step_errors
from pt_pipelines.files import atomic_path


def fill_config(*, base_config: Path, output: Path, settings: Settings, experiments: list[str] = (),
        lang: str = "pt") -> Path:
    """Write the complete config to output; return the base config it was filled from."""
    config = fill(base_config, settings, experiments, lang)
    with atomic_path(output) as tmp:
        config.to_disk(tmp)
    return Path(config["paths"]["base_config"])


def main(
    base_config: Path = typer.Argument(..., exists=True, dir_okay=False, help="Base config, or configs/auto.cfg"),
    output: Path = typer.Option(Path("configs/config.cfg"), "--output", help="The complete config"),
    experiment: str = typer.Option("", help="Experiments (configs/experiments/NAME.cfg) to apply, comma-separated"),
    train: str = typer.Option("corpus/train.spacy", help="Training data: [paths] train, and what auto reads"),
    dev: str = typer.Option("corpus/dev.spacy", help="Development data: [paths] dev"),
    lang: str = typer.Option("pt", help="Language of the training data's vocab"),
    seed: int = typer.Option(0, help="[system] seed"),
    max_steps: int = typer.Option(0, min=0, help="[training] max_steps; 0 trains until patience stops it"),
    gpu_id: int = typer.Option(-1, help="GPU the run will use, -1 for CPU (a transformer's mixed precision)"),
    init: str = typer.Option("none", help="What the tok2vec starts from: none, vectors or pretrain"),
    vectors: str = typer.Option("", help="Static vectors you have (file, pipeline folder or package)"),
    transformer: str = typer.Option("", help="The transformer of a config that has one (hub name or folder)"),
    raw_text: str = typer.Option("corpus/raw_text.jsonl", help="pretrain: the raw text ([paths] raw_text)"),
    pretrain_epochs: int = typer.Option(10, min=1, help="pretrain: [pretraining] max_epochs"),
) -> None:
    """Fill the base config with the experiments, every default and the run's settings."""
    settings = Settings(train, dev, seed, max_steps, gpu_id, init, vectors, transformer, raw_text, pretrain_epochs)
    experiments = [name.strip() for name in experiment.split(",") if name.strip()]
    with step_errors():
        used = fill_config(base_config=base_config, output=output, settings=settings, experiments=experiments, lang=lang)
    typer.echo(f"✔ {output} (from {used.as_posix()}{' + ' + experiment if experiments else ''})")


if __name__ == "__main__":
    typer.run(main)
