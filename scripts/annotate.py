"""Annotate text with a trained pipeline into JSONL or .spacy, streaming in constant memory, keeping record metadata.

JSONL output (each input record with a "spacy" field: tokens with their attributes, sentences and entities as
character offsets) resumes after an interruption, duplicating and dropping nothing, unless the model's or input's
md5 in OUTPUT.state.json changed (then it starts over). Bad records (invalid JSON, no text, a lone surrogate) go to
the reject file with their line number and the run goes on; a text over nlp.max_length is split, offsets kept.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Optional

import spacy
import typer
from spacy.tokens import DocBin
from tqdm import tqdm

from pt_pipelines.choices import choices
from pt_pipelines.errors import ConfigError, step_errors
from pt_pipelines.files import atomic_path, checksum, run_lock, write_json
from pt_pipelines.records import Annotated, BadRecord, Record, pipe_records, read_record, record_json
from pt_pipelines.textio import CorpusError, read_lines

# the choices of the command line, checked by typer (an unknown value lists the valid ones)
InputFormat = choices("InputFormat", ("auto", "text", "jsonl", "spacy"))
Backend = choices("Backend", ("local", "ray"))
RAY_FORMATS = "the ray backend reads text or .jsonl and writes .jsonl: use the local backend for .spacy"


def input_format(path: Path, fmt: str) -> str:
    return fmt if fmt != "auto" else {".jsonl": "jsonl", ".spacy": "spacy"}.get(path.suffix.lower(), "text")


def spacy_records(path: Path, vocab) -> Iterator[Record]:
    """The documents of a DocBin as records numbered from 1, with the fields annotate stored in them."""
    try:
        docs = DocBin().from_disk(path).get_docs(vocab)
    except ValueError:  # spaCy's E1014: not zlib-compressed msgpack of a DocBin
        raise CorpusError(path, "whole file", "not a spaCy DocBin (.spacy) file", "pass a .spacy file, or text or .jsonl with --format") from None
    for i, doc in enumerate(docs, start=1):
        yield Record(i, doc.text, dict(doc.user_data.get("fields", {})) if doc.user_data else {})


def local_results(nlp, input_path: Path, fmt: str, done: int, batch_size: int, n_process: int, keep_docs: bool,
        counts: dict) -> Iterator[Annotated | BadRecord]:
    """Annotate with nlp.pipe in this process (or n_process); yield results and bad records in input order."""
    pending: deque[BadRecord] = deque()
    records = (spacy_records(input_path, nlp.vocab) if fmt == "spacy" else
               (rec for lineno, line in read_lines(input_path) if (rec := read_record(lineno, line, fmt)) is not None))

    def good_records() -> Iterator[Record]:
        for rec in records:
            if rec.line <= done:
                counts["already_done"] += 1
            elif isinstance(rec, BadRecord):
                pending.append(rec)
            else:
                yield rec

    for doc, rec in pipe_records(nlp, good_records(), batch_size, n_process):
        while pending and pending[0].line < rec.line:
            yield pending.popleft()
        if keep_docs:
            doc.user_data["fields"] = rec.fields
        yield Annotated(rec.line, "" if keep_docs else record_json(rec, doc), len(doc), doc if keep_docs else None)
    yield from pending


def last_written_line(path: Path, key: str) -> int:
    """The input line of the last complete record in a JSONL file we wrote; a torn last line is cut off."""
    if not path.exists():
        return 0
    last, good_size = 0, 0
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.endswith(b"\n"):
                break  # written partly when the run was interrupted
            try:
                last = json.loads(raw)[key]["line"]
            except (ValueError, KeyError, TypeError, RecursionError):
                raise CorpusError(path, lineno, f"{raw[:60]!r}... was not written by annotate",
                    "pass another output path, or --overwrite to start over") from None  # fmt: skip
            good_size += len(raw)
    if good_size != path.stat().st_size:
        with path.open("r+b") as f:
            f.truncate(good_size)
    return last


def annotate(model: Path, input_path: Path | str, output: Path, rejects: Path, fmt: str = "auto", batch_size: int = 64,
        n_process: int = 1, overwrite: bool = False, interactive: bool = False, backend: str = "local",
        max_actors: int = 2, ray_cpus: int = 2) -> dict[str, int]:  # fmt: skip
    """Annotate input into output; return counts of written, skipped-as-done and rejected records. backend "ray"
    runs the pipeline on Ray Data actors (input may then be an object-storage URI), writing what "local" writes."""
    if backend == "ray":  # first, so that a missing Ray stops the run before any file is touched
        from pt_pipelines.distributed.ray_annotate import ray_results
    is_uri = "://" in str(input_path)
    fmt = input_format(Path(str(input_path).split("://")[-1]), fmt)
    to_jsonl = output.suffix.lower() != ".spacy"
    if backend == "ray" and (fmt == "spacy" or not to_jsonl):
        raise ConfigError(RAY_FORMATS)
    output.parent.mkdir(parents=True, exist_ok=True)
    rejects.parent.mkdir(parents=True, exist_ok=True)
    state = {"tool": "annotate", "rejects": str(rejects.resolve()), "model_md5": checksum(model),
             "input_md5": str(input_path) if is_uri else checksum(Path(input_path)), "input_format": fmt}
    counts = {"written": 0, "already_done": 0, "rejected": 0, "words": 0}
    with run_lock(output):  # a second run on this output would write every record twice
        # an object in storage cannot be checksummed cheaply, so its output never resumes
        done = start_or_resume(output, rejects, state, overwrite or is_uri, to_jsonl)
        if backend == "ray":
            results = ray_results(model, str(input_path), fmt, done, batch_size, max_actors, ray_cpus, counts)
        else:
            nlp = spacy.load(model)
            results = local_results(nlp, Path(input_path), fmt, done, batch_size, n_process, not to_jsonl, counts)
        return write_results(results, str(input_path), output, rejects, interactive, counts)


def owned_by(prior: Optional[dict], path: Path, output: Path) -> bool:
    """Whether annotate wrote `path` for `output`, as the state beside the output says."""
    # a state from before rejects were recorded: only the default name was its own
    recorded = (prior or {}).get("rejects") or str(output.with_name(output.name + ".rejects.jsonl").resolve())
    return prior is not None and (path == output or recorded == str(path.resolve()))


def start_or_resume(output: Path, rejects: Path, state: dict, overwrite: bool, to_jsonl: bool) -> int:
    """Refuse files annotate did not write, then resume or start over; return the last input line done."""
    state_path = output.with_name(output.name + ".state.json")
    try:
        prior = json.loads(state_path.read_text(encoding="utf8"))
    except (OSError, ValueError):
        prior = None
    prior = prior if isinstance(prior, dict) and "model_md5" in prior else None  # none, or not one of ours
    for path in () if overwrite else (output, rejects):
        if path.exists() and not owned_by(prior, path, output):
            raise CorpusError(path, "existing file",
                f"not written by annotate for {output.name} (no matching {state_path.name})",
                "pass --overwrite to replace it, or another output path")  # fmt: skip
    resume = to_jsonl and not overwrite and prior == state
    if to_jsonl and not overwrite and prior is not None and not resume and output.exists():
        changed = [k for k in state if prior.get(k) != state[k]]
        print(f"{', '.join(changed)} changed since {output} was started: starting over", file=sys.stderr)
    if not resume:  # .spacy output is written whole at the end, so it always starts over
        for path in (output, rejects) if to_jsonl else (rejects,):
            path.unlink(missing_ok=True)
    write_json(state_path, state)
    return max(last_written_line(output, "spacy"), last_written_line(rejects, "reject")) if resume else 0


def write_results(results: Iterator[Annotated | BadRecord], input_path: str, output: Path, rejects: Path,
        interactive: bool, counts: dict) -> dict[str, int]:  # fmt: skip
    """Append results to the JSONL output (or a DocBin written whole at the end) and bad records to rejects."""
    docbin = DocBin(store_user_data=True)
    started = last_report = time.perf_counter()
    bar = tqdm(unit=" words", unit_scale=True, disable=not interactive, desc="annotating")
    jsonl = output.open("a", encoding="utf8") if output.suffix.lower() != ".spacy" else nullcontext()
    with jsonl as out, rejects.open("a", encoding="utf8") as rej, bar:
        for item in results:
            if isinstance(item, BadRecord):
                if out is not None:
                    out.flush()  # a reject is on disk only after every good record before it
                where = f"{input_path}:{item.line}: {item.error}"
                reject = {"reject": {"line": item.line, "error": where}, "record": item.raw}
                print(json.dumps(reject, ensure_ascii=False), file=rej, flush=True)
                print(f"⚠ {where}: written to {rejects}", file=sys.stderr, flush=True)
                counts["rejected"] += 1
                continue
            if out is not None:
                out.write(item.json + "\n")
            else:
                docbin.add(item.doc)
            counts["written"] += 1
            counts["words"] += item.words
            bar.update(item.words)
            if not interactive and time.perf_counter() - last_report > 10:
                last_report = time.perf_counter()
                words_per_s = counts["words"] / (last_report - started)
                print(f"annotated {counts['written']} records, {words_per_s:.0f} words/s", flush=True)
    if out is None:
        with atomic_path(output) as tmp:
            docbin.to_disk(tmp)
    counts["seconds"] = round(time.perf_counter() - started, 2)
    return counts


def usage_problem(input_path: str, output: str, rejects: str, fmt: str, backend: str) -> Optional[str]:
    """What is wrong with the command line, before anything is read or written."""
    local = [p for p in (input_path, output, rejects) if "://" not in p]
    uris = [p for p in (input_path, output, rejects) if "://" in p]
    if rejects in local and Path(rejects).resolve() in {Path(p).resolve() for p in (output, input_path) if p in local}:
        return f"--rejects {rejects}: the same file as the output or the input: pass another rejects path"
    if uris and backend != "ray":
        return f"{uris[0]}: only the ray backend reads and writes URIs; pass --backend ray"
    if input_path in local and not Path(input_path).is_file():
        return f"{input_path}: no such file"
    if {input_path, output} <= set(local) and Path(output).resolve() == Path(input_path).resolve():
        return "the output would overwrite the input: pass another output path"
    if backend == "ray" and (input_format(Path(input_path), fmt) == "spacy" or output.lower().endswith(".spacy")):
        return RAY_FORMATS
    return None


def main(model: Path = typer.Argument(..., exists=True, file_okay=False, help="Trained pipeline folder or package path"),
        input_path: str = typer.Argument(..., help="Text (a document per line), .jsonl or .spacy; with --backend ray also s3://, gs://... URIs"),
        output: str = typer.Argument(..., help=".jsonl (resumable) or .spacy; with --backend ray also a URI"),
        rejects: Optional[str] = typer.Option(None, help="Reject file for bad records; default: OUTPUT.rejects.jsonl"),
        fmt: InputFormat = typer.Option("auto", "--format", help="Input format"),
        batch_size: int = typer.Option(64, min=1, help="Documents per nlp.pipe batch"),
        n_process: int = typer.Option(1, min=1, help="Processes for nlp.pipe (local backend)"),
        overwrite: bool = typer.Option(False, "--overwrite", help="Start over instead of resuming an existing output"),
        backend: Backend = typer.Option("local", help="local (nlp.pipe here) or ray (Ray Data actors; needs requirements-ray.txt)"),
        max_actors: int = typer.Option(2, min=1, help="ray: the actor pool grows from 1 to this many pipelines"),
        ray_cpus: int = typer.Option(2, min=1, help="ray: CPUs of the local Ray (ignored with RAY_ADDRESS)")) -> None:
    """Annotate documents; rerun the same command to resume an interrupted run."""
    rejects = rejects or output + ".rejects.jsonl"
    if problem := usage_problem(input_path, output, rejects, fmt.value, backend.value):
        typer.echo(f"✘ {problem}", err=True)
        raise typer.Exit(2)
    # a URI output is written to a temporary folder, then uploaded whole: object stores cannot append (it never resumes)
    with step_errors(), tempfile.TemporaryDirectory(prefix="annotate-") as tmp:
        local_out, local_rej = (Path(tmp) / Path(p.split("://")[-1]).name if "://" in p else Path(p)
                                for p in (output, rejects))
        try:
            counts = annotate(model, input_path if "://" in input_path else Path(input_path), local_out, local_rej,
                fmt.value, batch_size, n_process, overwrite or "://" in output + rejects, sys.stderr.isatty(),
                backend.value, max_actors, ray_cpus)  # fmt: skip
        except Exception as e:
            cause = located_error(e)  # Ray wraps what its tasks raised
            if cause is None or cause is e:
                raise
            raise cause from None
        for local, uri in ((local_out, output), (local_rej, rejects)):
            if "://" in uri:
                upload(local, uri)
    typer.echo(f"✔ {counts['written']} records written to {output}, {counts['already_done']} already done, "
        f"{counts['rejected']} rejected to {rejects}; {counts['words'] / max(counts['seconds'], 1e-9):.0f} words/s")


def located_error(error: Optional[BaseException]) -> Optional[CorpusError]:
    """The CorpusError behind an exception, also when Ray wrapped it (RayTaskError, UserCodeException)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, CorpusError):
            return error
        seen.add(id(error))
        error = getattr(error, "cause", None) or error.__cause__
    return None


def upload(local: Path, uri: str) -> None:
    """Copy a finished local file to object storage (s3://, gs://, ... as pyarrow's file systems know them)."""
    from pyarrow import fs  # installed with the Ray extra, the only path that gets here

    filesystem, path = fs.FileSystem.from_uri(uri)
    parent = path.rsplit("/", 1)[0]
    if parent and parent != path:
        filesystem.create_dir(parent, recursive=True)
    fs.copy_files(str(local), path, destination_filesystem=filesystem)


if __name__ == "__main__":
    typer.run(main)
