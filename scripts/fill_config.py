"""Fill the base config with all defaults (`spacy init fill-config --pretraining`) into configs/config.cfg.

`--vars.base_config configs/auto.cfg` (the default) chooses the base config from what the converted training
data annotates, so that NER-only data gets the NER config instead of spaCy's E143 error mid-training:
- POS or dependencies, and entities: configs/base_config.cfg (every component);
- POS or dependencies only (a treebank): configs/ud_base_config.cfg;
- entities only (HAREM, LeNER-Br, your NER data): configs/ner_base_config.cfg.
The choice is printed and kept in the filled config's [paths] as base_config.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import spacy
import typer
from spacy.cli.init_config import fill_config as spacy_fill_config
from spacy.tokens import DocBin

from pt_pipelines.files import atomic_path

AUTO = Path("configs/auto.cfg")
CHOICES = {
    "full": Path("configs/base_config.cfg"),
    "ud": Path("configs/ud_base_config.cfg"),
    "ner": Path("configs/ner_base_config.cfg"),
}


def annotated_layers(train: Path, lang: str = "pt") -> set[str]:
    """Which of "ud" (POS, morphology or dependencies) and "ner" (entities) the training docs annotate."""
    try:
        docs = DocBin().from_disk(train).get_docs(spacy.blank(lang).vocab)
        layers: set[str] = set()
        for doc in docs:
            if doc.has_annotation("POS") or doc.has_annotation("DEP") or doc.has_annotation("MORPH"):
                layers.add("ud")
            if doc.ents:
                layers.add("ner")
            if layers == {"ud", "ner"}:
                break
    except (ValueError, KeyError, TypeError, zlib.error) as e:
        raise typer.BadParameter(f"{train}: not a spaCy DocBin ({type(e).__name__}): run convert again") from None
    return layers


def choose_base_config(train: Path, lang: str = "pt") -> tuple[str, Path]:
    """The pipeline kind (full, ud or ner) and base config for what the training data annotates."""
    layers = annotated_layers(train, lang)
    if not layers:
        raise typer.BadParameter(
            f"{train}: no POS, dependencies or entities to train on: check the corpus (corpus/stats.json), "
            "or choose a base config with --vars.base_config"
        )
    kind = "full" if layers == {"ud", "ner"} else layers.pop()
    return kind, CHOICES[kind]


def fill_config(*, base_config: Path, output: Path, train: Path, lang: str = "pt") -> Path:
    """Fill base_config (or, for configs/auto.cfg, the one chosen by the training data) into output; return
    the base config used."""
    if base_config.as_posix().endswith(AUTO.as_posix()):
        kind, base_config = choose_base_config(train, lang)
        typer.echo(f"ℹ base_config auto: {train} annotates {kind} → {base_config}")
    with atomic_path(output) as tmp:
        spacy_fill_config(tmp, base_config, pretraining=True, silent=True)
        config = spacy.util.load_config(tmp, interpolate=False)  # keeps ${...} references as written
        config["paths"]["base_config"] = base_config.as_posix()
        config.to_disk(tmp)
    return base_config


def main(
    base_config: Path = typer.Argument(..., exists=True, dir_okay=False, help="Base config, or configs/auto.cfg"),
    output: Path = typer.Option(Path("configs/config.cfg"), "--output", help="The filled config"),
    train: Path = typer.Option(Path("corpus/train.spacy"), "--train", help="Training data, for auto"),
    lang: str = typer.Option("pt", help="Language of the training data's vocab"),
) -> None:
    """Fill the base config (or the one auto chooses) with every default into configs/config.cfg."""
    used = fill_config(base_config=base_config, output=output, train=train, lang=lang)
    typer.echo(f"✔ {output} (from {used})")


if __name__ == "__main__":
    typer.run(main)
