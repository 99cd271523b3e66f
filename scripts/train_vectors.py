"""Train static vectors on the training text with floret, and save them as a spaCy vectors folder.

floret stores subword (character n-gram) vectors in a fixed hash table, so every word gets a vector, including
words the text never had: what a small in-domain corpus needs. The text is tokenized with the language's
tokenizer, so the vectors are keyed by the tokens the pipeline will see. Training is single-threaded, so the
same text gives the same vectors. A config uses them with `include_static_vectors = true` in its
MultiHashEmbed; `train-vectors` passes the folder as `paths.vectors`.
"""

from __future__ import annotations

import importlib.metadata
import time
from pathlib import Path

import spacy
import srsly
import typer
from spacy.training.initialize import convert_vectors

from fileio import checksum, remove_path, replace_tree, write_json


def write_tokenized(raw_text: Path, output: Path, lang: str) -> int:
    """Write raw_text's texts ({"text": ...} JSONL) one per line as space-separated tokens; return the token count."""
    tokenizer = spacy.blank(lang).tokenizer
    n_tokens = 0
    with output.open("w", encoding="utf8") as out:
        for doc in tokenizer.pipe(row["text"] for row in srsly.read_jsonl(raw_text)):
            words = [t.text for t in doc if not t.is_space]
            n_tokens += len(words)
            out.write(" ".join(words) + "\n")
    return n_tokens


def train_vectors(
    raw_text: Path,
    output_dir: Path,
    lang: str = "pt",
    dim: int = 100,
    bucket: int = 50000,
    epochs: int = 20,
    min_count: int = 2,
) -> Path:
    """Train floret vectors (CBOW, character 3- to 5-grams, 2 hashes per n-gram) into a spaCy vectors folder."""
    try:
        import floret
    except ImportError:
        raise typer.BadParameter("floret is not installed: pip install -r requirements.txt") from None
    scratch = output_dir.with_name(f".{output_dir.name}-scratch")
    remove_path(scratch)
    scratch.mkdir(parents=True)
    started = time.perf_counter()
    n_tokens = write_tokenized(raw_text, scratch / "text.txt", lang)
    model = floret.train_unsupervised(
        str(scratch / "text.txt"),
        model="cbow",
        mode="floret",
        hashCount=2,
        bucket=bucket,
        minn=3,
        maxn=5,
        dim=dim,
        epoch=epochs,
        minCount=min_count,
        thread=1,  # one thread: deterministic
        verbose=0,
    )
    model.save_floret_vectors(str(scratch / "vectors.floret"))
    nlp = spacy.blank(lang)
    convert_vectors(nlp, scratch / "vectors.floret", truncate=0, prune=-1, mode="floret")
    nlp.to_disk(scratch / "vectors")
    write_json(
        scratch / "vectors" / "vectors-summary.json",
        {
            "seconds": round(time.perf_counter() - started, 1),
            "tokens": n_tokens,
            "words": len(model.words),
            "dim": dim,
            "bucket": bucket,
            "epochs": epochs,
            "min_count": min_count,
            "raw_text_md5": checksum(raw_text),
            "floret_version": importlib.metadata.version("floret"),
        },
    )
    replace_tree(scratch / "vectors", output_dir)
    remove_path(scratch)
    return output_dir


def main(
    raw_text: Path = typer.Argument(..., exists=True, dir_okay=False, help='Training text: JSONL of {"text": ...}'),
    output_dir: Path = typer.Option(Path("training/vectors"), "--output", help="spaCy vectors folder (paths.vectors)"),
    lang: str = typer.Option("pt", help="Language, for the tokenizer"),
    dim: int = typer.Option(100, min=10, help="Vector width"),
    bucket: int = typer.Option(50000, min=1000, help="Rows of the subword hash table"),
    epochs: int = typer.Option(20, min=1, help="Passes over the text"),
    min_count: int = typer.Option(2, min=1, help="Words seen fewer times get only subword vectors"),
) -> None:
    """Train floret vectors on the training text for include_static_vectors."""
    typer.echo(f"✔ {train_vectors(raw_text, output_dir, lang, dim, bucket, epochs, min_count)}")


if __name__ == "__main__":
    typer.run(main)
