"""Static vectors from what you have, for train: a word2vec, fastText or GloVe text file (.txt, .vec, optionally .gz),
a floret vectors file, or a spaCy pipeline (an installed package such as pt_core_news_lg, or a folder). They become
training/vectors/nlp, a blank pipeline holding only the vectors table, as `spacy init vectors` makes it (spaCy's own
convert_vectors). This step reruns when the var or a setting changes, and rewrites training/vectors only when the
source (its md5, or the package's name and version) or the settings changed: train, which depends on
training/vectors, reruns exactly then. A vectors file edited in place under the same name is not noticed.
"""

import gzip
import importlib.metadata
import time
from pathlib import Path
from typing import Any

import numpy
import spacy
import srsly
import typer
from spacy.training.initialize import convert_vectors

from pt_pipelines.errors import ConfigError, step_errors
from pt_pipelines.files import checksum, replace_tree, scratch_folder, write_json
from pt_pipelines.textio import CorpusError

VECTORS_MANIFEST = "vectors.json"


def check_vectors_file(path: Path) -> tuple[str, int, int]:
    """Read a text vectors file once, checking every line; return its mode (default or floret), rows and width. Every
    problem is a CorpusError at its line, before spaCy sees the file (spaCy's messages give no line for bad encoding
    or numbers)."""
    mode, dim, rows = "default", 0, 0
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
            for lineno, raw in enumerate(f, start=1):
                try:
                    line = raw.decode("utf8").rstrip("\r\n")
                except UnicodeDecodeError:
                    raise CorpusError(path, lineno, "not UTF-8", "save the vectors file as UTF-8") from None
                fields = line.rstrip().split(" ")
                # a header: rows dim, or floret's bucket dim minn maxn hash_count hash_seed BOW EOW
                if lineno == 1 and len(fields) in (2, 8) and all(p.isascii() and p.isdigit() for p in fields[:2]):
                    mode, dim = "floret" if len(fields) == 8 else "default", int(fields[1])
                    continue
                if not line.strip():
                    raise CorpusError(path, lineno, "blank line", "remove it: every line is a word and its numbers")
                width = len(fields) - 1
                dim = dim or width  # GloVe: no header, the first line sets the width
                if width != dim:
                    raise CorpusError(path, lineno, f"{width} numbers where the file has {dim}",
                        "fix or remove the line")
                try:
                    numpy.asarray(fields[1:], dtype="f")
                except ValueError:
                    raise CorpusError(path, lineno, "a value is not a number", "fix or remove the line") from None
                rows += 1
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise CorpusError(path, "file", f"cannot be read ({e})", "give a .txt/.vec file, gzipped or not") from None
    if not rows:
        raise CorpusError(path, "file", "no vectors in it", "give a word2vec, fastText, GloVe or floret text file")
    return mode, rows, dim


def source_fingerprint(source: str) -> dict[str, Any]:
    """What the source is (its kind: file, pipeline folder or package) and what identifies its content."""
    path = Path(source)
    if path.is_file():
        return {"kind": "file", "md5": checksum(path)}
    if path.is_dir():
        if not (path / "config.cfg").exists():
            raise CorpusError(path, "folder", "not a spaCy pipeline (no config.cfg)",
                "give a pipeline folder or a file")
        vectors = path / "vocab" / "vectors"
        return {"kind": "pipeline folder", "md5": checksum(vectors) if vectors.exists() else None}
    if spacy.util.is_package(source):
        return {"kind": "package", "version": importlib.metadata.version(source)}
    raise CorpusError(source, "vectors", "no such file, folder or installed spaCy package",
        "give a .txt/.vec(.gz) or floret file, a pipeline folder, or pip install the package (e.g. pt_core_news_lg)")


def table_raw_text(folder: Path) -> Any:
    """The raw text a floret table was trained on, where init-weights built it (its init.json beside the
    folder): records then name that text by md5 and word count, not only the table."""
    init = folder.resolve().parent / "init.json"  # a link to the table: beside the table itself
    raw = srsly.read_json(init).get("raw_text") if init.is_file() else None
    return raw if isinstance(raw, dict) and raw.get("md5") else None


def vectors_from_pipeline(source: str, lang: str) -> spacy.language.Language:
    """A blank pipeline holding the vectors of an installed package or pipeline folder."""
    vectors = spacy.load(source, exclude=["*"]).vocab.vectors  # the vocab with its vectors; no component is needed
    if vectors.shape[0] == 0 or vectors.shape[1] == 0:
        raise CorpusError(source, "vectors", "the pipeline has no vectors",
            "use a pipeline with vectors, e.g. pt_core_news_lg")
    nlp = spacy.blank(lang)
    nlp.vocab.vectors = vectors
    return nlp


def init_vectors(*, source: str, output_dir: Path, lang: str = "pt", prune: int = -1,
        truncate: int = 0) -> dict[str, Any]:
    """Build output_dir (vectors.json, and nlp/ when there are vectors) unless it already holds these vectors
    with these settings; return its manifest, with "changed" saying whether it was rebuilt."""
    settings: dict[str, Any] = {"source": source, "lang": lang, "prune": prune, "truncate": truncate}
    if source:
        settings.update(source_fingerprint(source))
    old = srsly.read_json(output_dir / VECTORS_MANIFEST) if (output_dir / VECTORS_MANIFEST).is_file() else None
    if old is not None and old.get("settings") == settings:
        return {**old, "changed": False}
    started = time.perf_counter()
    manifest: dict[str, Any] = {"settings": settings, "vectors": None}
    with scratch_folder(output_dir.with_name(f".{output_dir.name}-scratch")) as scratch:
        if source:
            if settings["kind"] == "file":
                mode, rows, dim = check_vectors_file(Path(source))
                nlp = spacy.blank(lang)
                convert_vectors(nlp, Path(source), truncate=truncate, prune=prune, mode=mode)
            else:
                if truncate:
                    raise ConfigError("--truncate applies to vectors files; use --prune to keep a pipeline's top rows")
                nlp = vectors_from_pipeline(source, lang)
                if prune > 0 and nlp.vocab.vectors.mode == "default":
                    nlp.vocab.prune_vectors(prune)
            nlp.to_disk(scratch / "nlp")
            manifest["raw_text"] = table_raw_text(Path(source)) if settings["kind"] == "pipeline folder" else None
            table = nlp.vocab.vectors
            manifest["vectors"] = "nlp"
            manifest["summary"] = {"mode": table.mode, "rows": int(table.shape[0]), "dim": int(table.shape[1]),
                                   "keys": len(table), "seconds": round(time.perf_counter() - started, 1)}
        write_json(scratch / VECTORS_MANIFEST, manifest)
        replace_tree(scratch, output_dir)
    return {**manifest, "changed": True}


def main(vectors: str = typer.Option("", "--vectors", help="Vectors file, pipeline folder or package; empty for none"),
        output_dir: Path = typer.Option(Path("training/vectors"), "--output", help="The folder the config loads vectors from"),
        lang: str = typer.Option("pt", help="Language of the blank pipeline holding the vectors"),
        prune: int = typer.Option(-1, help="Keep this many rows, mapping the other words to their nearest (-1: all)"),
        truncate: int = typer.Option(0, min=0, help="Read only the first N vectors of a file (0: all)")) -> None:
    """Turn the vectors you have into training/vectors for train (spacy init vectors)."""
    with step_errors():
        manifest = init_vectors(source=vectors, output_dir=output_dir, lang=lang, prune=prune, truncate=truncate)
    state = "written" if manifest["changed"] else "unchanged"
    what = f"{manifest['summary']['rows']} × {manifest['summary']['dim']} from {vectors}" if vectors else "no vectors"
    typer.echo(f"✔ {output_dir} {state}: {what}")


if __name__ == "__main__":
    typer.run(main)
