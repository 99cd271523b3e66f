"""Collect raw text for `spacy pretrain` and static vectors as JSONL, one {"text": ...} per sentence or line.

Only training text belongs here: the files given with --exclude (the project passes its dev and test splits) are
refused, and every sentence of theirs is removed from the text read (held_out.py), since pretraining or vectors learnt
from them would leak the evaluation into the model. Exact repeats are dropped, so boilerplate lines do not dominate.
All is streamed: memory is the held-out sentences and `Seen`'s 64 MB. Words are whitespace-separated tokens with a
letter or digit, so IOB text (`Lisboa , disse`) counts as its running text does.
"""

import gzip
import hashlib
import json
import lzma
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import spacy
import typer
from tqdm import tqdm

from pt_pipelines.errors import step_errors
from pt_pipelines.files import atomic_path, write_json
from pt_pipelines.held_out import HeldOut, read_docbin
from pt_pipelines.records import BadRecord, parse_line
from pt_pipelines.textio import CorpusError, decode_lines

SUFFIXES = (".spacy", ".jsonl", ".txt", ".jsonl.xz", ".jsonl.gz", ".txt.xz", ".txt.gz")
OPEN = {".xz": lzma.open, ".gz": gzip.open}
WORD = re.compile(r"[^\W_]")
BITS = 1 << 29  # Seen's filter: 64 MB
Callback = Callable[..., object]  # progress(bytes read), md5(bytes)


def kind(path: Path) -> str:
    """A file's format: .spacy, .jsonl or .txt, with .xz or .gz after it when compressed."""
    tail = "".join(path.suffixes[-2:]).lower()
    return tail if tail in SUFFIXES else path.suffix.lower()


class Seen:
    """Texts seen, in a 64 MB Bloom filter: at 10 million texts, 1 in 40,000 is wrongly taken for a repeat."""

    def __init__(self) -> None:
        self.bits, self.count = bytearray(BITS // 8), 0

    def add(self, text: str) -> bool:
        """Remember text; False when it was (almost surely) seen before."""
        digest = hashlib.md5(text.encode("utf8")).digest()
        keys = [int.from_bytes(digest[i : i + 4], "little") & (BITS - 1) for i in range(0, 16, 4)]
        new = not all(self.bits[k >> 3] >> (k & 7) & 1 for k in keys)
        for k in keys:
            self.bits[k >> 3] |= 1 << (k & 7)
        self.count += new
        return new


def file_lines(path: Path, progress: Callback, md5: Callback) -> Iterator[tuple[int, str]]:
    """(line number, line) of a text file, .xz or .gz decompressed; progress(bytes read); md5(the text's bytes)."""
    opener, lineno = OPEN.get(path.suffix.lower()), 0
    with path.open("rb") as raw:
        try:
            for lineno, line in decode_lines((md5(b) or b for b in (opener(raw) if opener else raw)), path):
                if not lineno % 10000:
                    progress(raw.tell())
                yield lineno, line
        except (EOFError, OSError, lzma.LZMAError, zlib.error) as e:
            raise CorpusError(path, lineno + 1, f"not a complete {path.suffix} archive ({e})", "get it again") from None


def input_files(path: Path, skip: set[Path]) -> list[Path]:
    """The file itself, or a folder's .spacy, .jsonl and .txt(.xz/.gz) files (not hidden, not in skip) by name."""
    if path.is_dir():
        found = (p for p in path.rglob("*") if p.is_file() and kind(p) in SUFFIXES and p.resolve() not in skip
                 and not any(part.startswith(".") for part in p.relative_to(path).parts))
        files = sorted(found, key=lambda p: p.relative_to(path).as_posix())
        if not files:
            raise CorpusError(path, "folder", "no .spacy, .jsonl or .txt files (plain, .xz or .gz)",
                              "point --vars.raw_text at raw text")
        return files
    if kind(path) not in SUFFIXES:
        raise CorpusError(path, "file", f"unknown raw text format {path.suffix!r}", f"use one of {', '.join(SUFFIXES)}")
    return [path]


def file_texts(path: Path, lang: str, progress: Callback, md5: Callback) -> Iterator[str]:
    """The texts of one file: a .spacy file's sentences (its docs if unsegmented), JSONL "text", text lines."""
    if kind(path) == ".spacy":
        for doc in read_docbin(path, spacy.blank(lang).vocab, "convert it first, or give .jsonl or .txt"):
            parts = doc.sents if doc.has_annotation("SENT_START") else [doc[:]]
            yield from (span.text.strip() for span in parts)
        return
    for lineno, line in file_lines(path, progress, md5):
        record = parse_line(lineno, line, "jsonl" if kind(path).startswith(".jsonl") else "text")
        if isinstance(record, BadRecord):
            raise CorpusError(path, lineno, record.error, 'write one {"text": "..."} object per line')
        if record is not None:
            yield record.text.strip()


def write_raw_text(inputs: list[Path], output: Path, lang: str = "pt", exclude: tuple[Path, ...] = ()) -> int:
    """Write the inputs' distinct non-blank texts, less the held-out sentences of `exclude`, to output (JSONL,
    atomically) and a summary to <output>.json; return how many texts."""
    refused = {p.resolve(): "a held-out split" for p in exclude} | {output.resolve(): "the output"}
    files = [file for path in inputs for file in input_files(path, skip={output.resolve()})]
    for file in files:
        if file.resolve() in refused:
            raise CorpusError(file, "file", f"is {refused[file.resolve()]}", "point --vars.raw_text at training text only")
    held_out = HeldOut.from_docbins([p for p in exclude if p.exists()], lang)
    seen, words, done, md5s, out_md5 = Seen(), 0, 0, [], hashlib.md5()
    bar = tqdm(total=sum(f.stat().st_size for f in files), unit="B", unit_scale=True, desc="raw-text", mininterval=5)
    with bar, atomic_path(output) as tmp, tmp.open("wb") as out:
        for file in files:
            md5s.append(hashlib.md5())
            for text in file_texts(file, lang, lambda n, done=done: bar.update(done + n - bar.n), md5s[-1].update):
                text = held_out.remove(text)
                if text and seen.add(text):
                    words += sum(1 for token in text.split() if WORD.search(token))
                    out_md5.update(line := (json.dumps({"text": text}, ensure_ascii=False) + "\n").encode("utf8"))
                    out.write(line)
            bar.update((done := done + file.stat().st_size) - bar.n)
        if not seen.count and not held_out.removed:
            raise CorpusError(inputs[0], "all records", "no text found", "point --vars.raw_text at files with text")
    summary = {
        # the md5 of raw text files' (uncompressed) text; a .spacy file's md5 also covers its annotation, which raw
        # text does not use, so that re-annotating the corpus leaves this summary, and init-weights after it, unchanged
        "inputs": [{"path": file.as_posix(), "md5": None if kind(file) == ".spacy" else md5.hexdigest()}
                   for file, md5 in zip(files, md5s)],
        "texts": seen.count, "words": words, "md5": out_md5.hexdigest(),
        "held_out": {"files": [p.as_posix() for p in exclude], **held_out.counts()},
    }
    write_json(summary_path(output), summary)
    return seen.count


def summary_path(output: Path) -> Path:
    """Where write_raw_text puts its summary: beside the output, as <output>.json."""
    return output.with_name(output.name + ".json")


def main(
    inputs: list[Path] = typer.Argument(..., exists=True, help="Training text: .spacy, .jsonl, .txt files or folders"),
    output: Path = typer.Option(..., "--output", help="JSONL file for spacy pretrain and the vectors"),
    exclude: list[Path] = typer.Option([], help="Files that must not be read (the dev and test splits)"),
    lang: str = typer.Option("pt", help="Language of the .spacy files' vocab"),
) -> None:
    """Collect the training text as JSONL for pretraining and static vectors."""
    with step_errors():
        n = write_raw_text(inputs, output, lang, tuple(exclude))
    summary = json.loads(summary_path(output).read_text(encoding="utf8"))
    removed = summary["held_out"]["removed"]
    typer.echo(f"✔ {n} texts ({summary['words']} words) in {output}; {removed} held-out sentences removed")
    if not n:
        # not an error here: init none does not read it; init-weights refuses it for vectors and pretrain
        typer.echo("⚠ every sentence of the raw text is in the dev or test split: nothing is left to learn from")


if __name__ == "__main__":
    typer.run(main)
