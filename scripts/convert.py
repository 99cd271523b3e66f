"""Convert a raw corpus into corpus/{train,dev,test}.spacy and corpus/stats.json.

Inputs: `--train` is a file, or a folder holding files named like
`*train*.conllu`, `*dev*.conllu`, `*test*.conllu` (the UD naming). `--dev` and
`--test` default to the train input, which means "take this split from there":
the folder's dev/test file, or a seeded split by document of a single file.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Optional

import spacy
import typer
from spacy.tokens import Doc, DocBin

from conllu import read_docs
from textio import CorpusError, ReadOptions
from fileio import atomic_path, checksum, write_json

SPLITS = ("train", "dev", "test")
FORMATS = {"conllu": (".conllu",)}
SPLIT_ALIASES = {"train": ("train",), "dev": ("dev", "valid", "val"), "test": ("test",)}


def detect_format(path: Path, fmt: str) -> str:
    """Return the format to read `path` with; `auto` decides by extension."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise CorpusError(path, "format", f"unknown format {fmt!r}", f"use one of: auto, {', '.join(FORMATS)}")
        return fmt
    for name, exts in FORMATS.items():
        if path.suffix.lower() in exts:
            return name
    raise CorpusError(
        path,
        "format",
        f"cannot tell the format from the extension {path.suffix!r}",
        f"name the file *.conllu or pass --vars.format with one of: {', '.join(FORMATS)}",
    )


def find_split_file(folder: Path, split: str) -> Optional[Path]:
    """The file in `folder` whose name marks it as `split`, or None."""
    known = {ext for exts in FORMATS.values() for ext in exts}
    hits = [
        p
        for p in sorted(folder.iterdir())
        if p.is_file()
        and p.suffix.lower() in known
        and any(
            alias in p.stem.lower().replace("_", "-").split("-") or p.stem.lower().endswith(alias)
            for alias in SPLIT_ALIASES[split]
        )
    ]
    if len(hits) > 1:
        raise CorpusError(
            folder,
            split,
            f"several {split} files: {', '.join(p.name for p in hits)}",
            f"keep one {split} file in the folder or pass the file itself",
        )
    return hits[0] if hits else None


def resolve_sources(train: Path, dev: Path, test: Path) -> dict[str, Optional[Path]]:
    """Map each split to the file it is read from, or None when it is split off train."""
    sources: dict[str, Optional[Path]] = {}
    for split, given in (("train", train), ("dev", dev), ("test", test)):
        if not given.exists():
            raise CorpusError(
                given,
                split,
                "no such file or folder",
                f"pass an existing path with --vars.{split}_file (paths are relative to the project)",
            )
        same_as_train = given == train and split != "train"
        if given.is_dir():
            found = find_split_file(given, split)
            if found is None and not same_as_train:
                raise CorpusError(
                    given,
                    split,
                    f"no {split} file in this folder",
                    f"name it like '{split}.conllu' or pass the file itself",
                )
            sources[split] = found
        else:
            sources[split] = None if same_as_train else given
    return sources


def split_documents(
    docs: list[Doc], dev_ratio: float, test_ratio: float, seed: int, need_dev: bool, need_test: bool
) -> tuple[list[Doc], list[Doc], list[Doc]]:
    """Split whole documents (never sentences of one document) with a seeded shuffle."""
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(len(docs) * dev_ratio)) if need_dev else 0
    n_test = max(1, round(len(docs) * test_ratio)) if need_test else 0
    if n_dev + n_test >= len(docs):
        raise ValueError(f"{len(docs)} documents are too few to split off {n_dev} dev and {n_test} test documents")
    dev = [docs[i] for i in sorted(order[:n_dev])]
    test = [docs[i] for i in sorted(order[n_dev : n_dev + n_test])]
    train = [docs[i] for i in sorted(order[n_dev + n_test :])]
    return train, dev, test


def split_stats(docs: Iterable[Doc]) -> dict:
    """Counts for one split: documents, sentences, tokens, entities per label."""
    n_docs = n_sents = n_tokens = 0
    labels: Counter = Counter()
    for doc in docs:
        n_docs += 1
        n_tokens += len(doc)
        n_sents += sum(1 for _ in doc.sents) if doc.has_annotation("SENT_START") or doc.has_annotation("DEP") else 1
        labels.update(ent.label_ for ent in doc.ents)
    return {
        "documents": n_docs,
        "sentences": n_sents,
        "tokens": n_tokens,
        "entities": sum(labels.values()),
        "entities_per_label": dict(sorted(labels.items())),
    }


def convert(
    train: Path,
    dev: Path,
    test: Path,
    output_dir: Path,
    fmt: str = "auto",
    lang: str = "pt",
    seed: int = 0,
    dev_ratio: float = 0.1,
    test_ratio: float = 0.1,
    n_sents: int = 10,
) -> dict:
    """Convert the corpus and write the three DocBins and stats.json; return the stats."""
    sources = resolve_sources(train, dev, test)
    nlp = spacy.blank(lang)
    read: dict[str, list[Doc]] = {}
    for split in SPLITS:
        path = sources[split]
        if path is not None:
            detect_format(path, fmt)
            read[split] = list(read_docs(path, nlp.vocab, ReadOptions(n_sents=n_sents)))
    to_split = [s for s in ("dev", "test") if sources[s] is None]
    if to_split:
        try:
            read["train"], dev_docs, test_docs = split_documents(
                read["train"], dev_ratio, test_ratio, seed, "dev" in to_split, "test" in to_split
            )
        except ValueError as e:
            raise CorpusError(
                sources["train"], "split", str(e), "add documents or pass --vars.dev_file/--vars.test_file"
            ) from None
        read.setdefault("dev", dev_docs)
        read.setdefault("test", test_docs)
    output_dir.mkdir(parents=True, exist_ok=True)
    stats: dict = {
        "sources": {s: (str(p) if p else f"split from train (seed {seed})") for s, p in sources.items()},
        "checksums": {s: checksum(p) for s, p in sources.items() if p},
        "splits": {},
    }
    for split in SPLITS:
        with atomic_path(output_dir / f"{split}.spacy") as tmp:
            DocBin(docs=read[split], store_user_data=False).to_disk(tmp)
        stats["splits"][split] = split_stats(read[split])
    stats["labels"] = sorted({lab for s in stats["splits"].values() for lab in s["entities_per_label"]})
    write_json(output_dir / "stats.json", stats)
    return stats


def main(
    train: Path = typer.Option(..., help="Train file, or folder with train/dev/test files"),
    dev: Optional[Path] = typer.Option(None, help="Dev file; default: from the train input"),
    test: Optional[Path] = typer.Option(None, help="Test file; default: from the train input"),
    output_dir: Path = typer.Option(Path("corpus"), help="Where the .spacy files and stats.json go"),
    fmt: str = typer.Option("auto", "--format", help="Input format: auto or conllu"),
    lang: str = typer.Option("pt", help="Language code for the tokenizer's vocab"),
    seed: int = typer.Option(0, help="Seed of the document split"),
    dev_ratio: float = typer.Option(0.1, help="Share of documents split off for dev"),
    test_ratio: float = typer.Option(0.1, help="Share of documents split off for test"),
    n_sents: int = typer.Option(10, help="Sentences per document when the file has no '# newdoc'"),
) -> None:
    """Convert a raw corpus into train/dev/test .spacy files and stats.json."""
    for name, ratio in (("dev_ratio", dev_ratio), ("test_ratio", test_ratio)):
        if not 0 < ratio < 0.5:
            typer.echo(f"✘ --{name.replace('_', '-')} {ratio}: must be between 0 and 0.5", err=True)
            raise typer.Exit(2)
    try:
        stats = convert(train, dev or train, test or train, output_dir, fmt, lang, seed, dev_ratio, test_ratio, n_sents)
    except CorpusError as e:
        typer.echo(f"✘ {e}", err=True)
        raise typer.Exit(1) from None
    for split in SPLITS:
        s = stats["splits"][split]
        typer.echo(
            f"✔ {split:5} {s['documents']:6} docs {s['sentences']:7} sentences {s['tokens']:8} tokens "
            f"{s['entities']:6} entities  <- {stats['sources'][split]}"
        )


if __name__ == "__main__":
    typer.run(main)
