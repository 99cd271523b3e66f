"""Benchmark: the full pipeline trained jointly on partially annotated documents, to set against assembling.

Merges a UD corpus (trees, tags, lemmas, no entities) and an NER corpus (entities, no trees) converted by
`convert`: in each document what is not annotated is missing, not negative, so every component learns only
from the documents that annotate it, through one shared tok2vec. Trains one pipeline (all components) on the
merged train split, selects on the merged dev split, and evaluates it like `evaluate-full` does the assembled
pipeline: tagging, lemmas and parse on the UD test split, entities on the NER one. Writes a results record.

    python benchmarks/joint_training.py --ud-corpus runs/bosque/corpus --ner-corpus runs/harem/corpus \\
        --record metrics/bosque-ud+harem-selective-ner-full-joint.json --max-steps 4000
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import spacy
import typer
from spacy.tokens import DocBin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the project root: scripts and pt_pipelines
from pt_pipelines.configs import Settings  # noqa: E402
from pt_pipelines.files import write_json  # noqa: E402
from scripts.evaluate import evaluate, result_record, with_entity_scores  # noqa: E402
from scripts.fill_config import fill_config  # noqa: E402
from scripts.train import train  # noqa: E402


def merge(paths: list[Path], output: Path) -> int:
    """Concatenate .spacy files into one; return the number of documents."""
    merged = DocBin(store_user_data=True)
    nlp = spacy.blank("pt")
    for path in paths:
        for doc in DocBin().from_disk(path).get_docs(nlp.vocab):
            merged.add(doc)
    output.parent.mkdir(parents=True, exist_ok=True)
    merged.to_disk(output)
    return len(merged)


def main(
    ud_corpus: Path = typer.Option(..., exists=True, file_okay=False, help="convert's output for the UD corpus"),
    ner_corpus: Path = typer.Option(..., exists=True, file_okay=False, help="convert's output for the NER corpus"),
    base_config: Path = typer.Option(
        ROOT / "configs/base_config.cfg", exists=True, help="A config with all components"
    ),
    output_dir: Path = typer.Option(Path("training/joint"), help="Merged corpus, filled config, model"),
    record: Path = typer.Option(..., help="Results record to write (metrics/<ud>+<ner>-full-joint.json)"),
    corpus: str = typer.Option("bosque-ud+harem-selective-ner", help="Corpus name in the record"),
    max_steps: int = typer.Option(4000, min=0),
    seed: int = typer.Option(0),
) -> None:
    """Train the full pipeline jointly on a UD corpus and an NER corpus; evaluate on both test splits."""
    for split in ("train", "dev"):
        n = merge([ud_corpus / f"{split}.spacy", ner_corpus / f"{split}.spacy"], output_dir / f"{split}.spacy")
        print(f"{split}: {n} documents")
    config = output_dir / "config.cfg"
    train_path, dev_path = str(output_dir / "train.spacy"), str(output_dir / "dev.spacy")
    settings = Settings(train=train_path, dev=dev_path, seed=seed, max_steps=max_steps)
    fill_config(base_config=base_config, output=config, settings=settings)
    train(config=config, output_dir=output_dir)
    model = output_dir / "model-best"
    scores = evaluate(model, ud_corpus / "test.spacy", output_dir / "scores-ud.json")
    scores = with_entity_scores(scores, evaluate(model, ner_corpus / "test.spacy", output_dir / "scores-ner.json"))
    summary = json.loads((output_dir / "train-summary.json").read_text(encoding="utf8"))
    data = result_record(scores, corpus, "full-joint", summary)
    data["config"] = f"{base_config.name}, trained jointly on the merged train splits, max_steps {max_steps}"
    write_json(record, data)
    print(f"✔ {record}: " + ", ".join(f"{k} {100 * v:.2f}" for k, v in data["scores"].items()))


if __name__ == "__main__":
    typer.run(main)
