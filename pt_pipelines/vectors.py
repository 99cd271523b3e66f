"""Train static vectors on raw text with floret and save them as a spaCy vectors folder, for
`init_weights.py vectors`.

floret stores subword (character n-gram) vectors in a fixed hash table, so every word gets a vector, including
words the text never had: what a small in-domain corpus needs. The text is tokenized with the language's
tokenizer (in n_process processes), so the vectors are keyed by the tokens the pipeline will see. Training is
single-threaded, so the same text gives the same vectors. Both phases show their progress on stderr.
"""

from __future__ import annotations

import importlib.metadata
import time
from pathlib import Path
from typing import Any

import spacy
import srsly
import typer
from spacy.training.initialize import convert_vectors
from tqdm import tqdm

from pt_pipelines.files import remove_path


def write_tokenized(raw_text: Path, output: Path, lang: str, n_process: int = 1) -> int:
    """Write raw_text's texts ({"text": ...} JSONL) one per line as space-separated tokens; return the token count."""
    texts = (row["text"] for row in srsly.read_jsonl(raw_text))
    n_tokens = 0
    with output.open("w", encoding="utf8", newline="\n") as out:
        docs = spacy.blank(lang).pipe(texts, n_process=n_process, batch_size=1000)
        for doc in tqdm(docs, desc="tokenizing", unit=" texts", unit_scale=True, mininterval=5):
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
    n_process: int = 1,
) -> dict[str, Any]:
    """Train floret vectors (CBOW, character 3- to 5-grams, 2 hashes each) into output_dir; return a summary."""
    try:
        import floret
    except ImportError:
        raise typer.BadParameter("floret is not installed: pip install -r requirements.txt") from None
    work = output_dir.with_name(f".{output_dir.name}-text")
    remove_path(work)
    work.mkdir(parents=True)
    try:
        started = time.perf_counter()
        n_tokens = write_tokenized(raw_text, work / "text.txt", lang, n_process)
        tokenized = time.perf_counter()
        model = floret.train_unsupervised(
            str(work / "text.txt"),
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
            verbose=2,  # floret's progress line on stderr
        )
        model.save_floret_vectors(str(work / "vectors.floret"))
        nlp = spacy.blank(lang)
        convert_vectors(nlp, work / "vectors.floret", truncate=0, prune=-1, mode="floret")
        nlp.to_disk(output_dir)
    finally:
        remove_path(work)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "tokenize_seconds": round(tokenized - started, 1),
        "tokens": n_tokens,
        "words": len(model.words),
        "dim": dim,
        "bucket": bucket,
        "epochs": epochs,
        "min_count": min_count,
        "floret_version": importlib.metadata.version("floret"),
    }
