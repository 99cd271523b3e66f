"""Train static vectors on raw text with floret and save them as a spaCy vectors folder, for `init_weights.py vectors`.

floret stores subword (character n-gram) vectors in a fixed hash table, so every word gets a vector, including words
the text never had: what a small in-domain corpus needs. The text is tokenized with the language's tokenizer (in
n_process worker processes that send back strings; nlp.pipe's send back Docs, 3.5x slower), so the vectors are keyed
by the tokens the pipeline will see. floret runs on one thread by default: same text, same vectors. More threads
train about as many times faster, but their updates race (Hogwild), so two runs differ slightly.
"""

import importlib.metadata
import time
from itertools import islice
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import spacy
import srsly
from spacy.training.initialize import convert_vectors
from tqdm import tqdm

from pt_pipelines.errors import ConfigError
from pt_pipelines.files import scratch_folder


def tokenize(batch: tuple[str, list[str]]) -> list[str]:
    """A batch (lang, texts) as lines of space-separated tokens: run in worker processes, which send back strings."""
    return [" ".join(t.text for t in doc if not t.is_space) for doc in spacy.blank(batch[0]).tokenizer.pipe(batch[1])]


def write_tokenized(raw_text: Path, output: Path, lang: str, n_process: int = 1) -> int:
    """Write raw_text's texts ({"text": ...} JSONL) one per line as space-separated tokens; return the token count."""
    texts = (row["text"] for row in srsly.read_jsonl(raw_text))
    batches = iter(lambda: (lang, list(islice(texts, 10000))), (lang, []))
    n_tokens = 0
    with output.open("w", encoding="utf8", newline="\n") as out, Pool(n_process) as pool:
        for lines in tqdm(pool.imap(tokenize, batches), desc="tokenizing, 10k texts", unit=" batches"):
            n_tokens += sum(len(line.split(" ")) for line in lines if line)
            out.writelines(line + "\n" for line in lines)
    return n_tokens


def train_vectors(raw_text: Path, output_dir: Path, lang: str = "pt", dim: int = 100, bucket: int = 50000,
        epochs: int = 20, min_count: int = 2, n_process: int = 1, threads: int = 1) -> dict[str, Any]:
    """Train floret vectors (CBOW, character 3- to 5-grams, 2 hashes each) into output_dir; return a summary."""
    try:
        import floret
    except ImportError:
        raise ConfigError("floret is not installed: pip install -r requirements.txt") from None
    with scratch_folder(output_dir.with_name(f".{output_dir.name}-text")) as work:
        started = time.perf_counter()
        n_tokens = write_tokenized(raw_text, work / "text.txt", lang, n_process)
        tokenized = time.perf_counter()
        # one thread: deterministic; verbose 2: words read, a summary, and with more threads a progress line
        model = floret.train_unsupervised(str(work / "text.txt"), model="cbow", mode="floret", hashCount=2,
            bucket=bucket, minn=3, maxn=5, dim=dim, epoch=epochs, minCount=min_count, thread=threads, verbose=2)
        model.save_floret_vectors(str(work / "vectors.floret"))
        nlp = spacy.blank(lang)
        convert_vectors(nlp, work / "vectors.floret", truncate=0, prune=-1, mode="floret")
        nlp.to_disk(output_dir)
    return {"seconds": round(time.perf_counter() - started, 1), "tokenize_seconds": round(tokenized - started, 1),
            "tokens": n_tokens, "words": len(model.words), "dim": dim, "bucket": bucket, "epochs": epochs,
            "min_count": min_count, "threads": threads, "floret_version": importlib.metadata.version("floret")}
