"""The ray backend of annotate: Ray Data reads the input, a pool of actors runs the pipeline. Each actor loads the
pipeline once, from files sent through Ray's object store (so workers need no copy of the model on disk). The pool
grows from 1 to max_actors: a fixed pool taking every CPU would leave none for the read stage and hang. Results come
back in input order (preserve_order) and are parsed and serialised by the same functions as the local backend, so
both write identical lines. Each input file is read whole by one task before it is cut into blocks: memory grows
with the largest file.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import spacy

from pt_pipelines.distributed.ray_setup import INSTALL_HINT, init_ray, ray
from pt_pipelines.records import Annotated, BadRecord, Record, pipe_records, read_record, record_json
from pt_pipelines.textio import CorpusError, decode_lines, read_lines

try:  # after ray_setup, which says what to install when Ray is missing; pyarrow comes with Ray's extra
    import pyarrow as pa
    import pyarrow.fs  # noqa: F401  (pa.fs)
except ImportError:
    raise SystemExit(INSTALL_HINT) from None

# what an actor returns per input line
COLUMNS = {"line": pa.int64(), "json": pa.large_string(), "words": pa.int64(), "error": pa.large_string(),
           "raw": pa.large_string(), "fatal": pa.large_string()}  # fmt: skip


class PipelineActor:
    """Loads the pipeline once per worker and annotates batches of numbered lines."""

    def __init__(self, files: Any, fmt: str, batch_size: int) -> None:
        if isinstance(files, list):  # [ObjectRef]: nested, so Ray does not pin it as a restart argument
            files = ray.get(files[0])
        self.dir = Path(tempfile.mkdtemp(prefix="pipeline-"))
        for name, data in files.items():
            (self.dir / name).parent.mkdir(parents=True, exist_ok=True)
            (self.dir / name).write_bytes(data)
        self.nlp = spacy.load(self.dir)
        self.fmt, self.batch_size = fmt, batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        # Arrow in and out: numpy would pad every string to the batch's longest and drop trailing NULs
        lines, raws, fatal = (batch.column(name).to_pylist() for name in ("line", "raw", "fatal"))
        parsed = [(read_record(n, raw, self.fmt) if not f else BadRecord(n, f, ""), f) for n, raw, f in zip(lines, raws, fatal)]
        good = [rec for rec, _ in parsed if isinstance(rec, Record)]
        docs = {rec.line: doc for doc, rec in pipe_records(self.nlp, good, self.batch_size)}
        rows = [(rec.line, "", 0, rec.error, rec.raw, f) if isinstance(rec, BadRecord)
                else (rec.line, record_json(rec, docs[rec.line]), len(docs[rec.line]), "", "", f)
                for rec, f in parsed if rec is not None]
        columns = list(zip(*rows)) or [()] * len(COLUMNS)
        return pa.table({name: pa.array(col, kind) for (name, kind), col in zip(COLUMNS.items(), columns)})

    def __del__(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def numbered_lines(row: dict[str, Any], done: int = 0) -> list[dict[str, Any]]:
    """A whole file's bytes as numbered, non-blank lines after line `done`, decoded as read_lines does. An undecodable
    line ends the list with a "fatal" row: Ray would keep only the text of a raised error, and the driver has to stop
    with the same located error as the local backend, after the lines before it."""
    rows: list[dict[str, Any]] = []
    try:
        for n, line in decode_lines(io.BytesIO(row["bytes"]), row["path"]):
            if n > done and line.strip():
                rows.append({"line": n, "raw": line, "fatal": ""})
    except CorpusError as e:
        fatal = {"path": e.path, "where": e.where, "problem": e.problem, "fix": e.fix}
        rows.append({"line": e.where, "raw": "", "fatal": json.dumps(fatal)})
    return rows


def ray_results(model: Path, input_uri: str, fmt: str, done: int, batch_size: int, max_actors: int, num_cpus: int,
        counts: dict[str, int]) -> Iterator[Annotated | BadRecord]:  # fmt: skip
    """Annotate on Ray; yield results and bad records in input order, like annotate.local_results."""
    where = init_ray(num_cpus)
    print(f"annotating on {where}, up to {max_actors} pipeline actors", flush=True)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    # on a cluster a local path must be on storage every node mounts; otherwise use s3://, gs://...
    path = input_uri if "://" in input_uri else str(Path(input_uri).resolve())
    if "://" in input_uri:
        filesystem, inner = pa.fs.FileSystem.from_uri(input_uri)
        if filesystem.get_file_info(inner).type != pa.fs.FileType.File:
            raise CorpusError(input_uri, "input", "not a file", "name one file (each file is numbered from line 1)")
    files = ray.put({str(p.relative_to(model)): p.read_bytes() for p in sorted(Path(model).rglob("*")) if p.is_file()})
    ds = (
        ray.data.read_binary_files(path, include_paths=True)
        .flat_map(numbered_lines, fn_kwargs={"done": done})
        # a file is read as one block, and a block goes to one actor: cut it so that the pool can grow
        .repartition(target_num_rows_per_block=batch_size * 4)
        .map_batches(PipelineActor, fn_constructor_kwargs={"files": [files], "fmt": fmt, "batch_size": batch_size},
            batch_size=batch_size * 4, batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=max_actors), num_cpus=1)
    )
    if done:  # resuming a local input: count the records before the resume point as the local backend does
        counts["already_done"] += sum(bool(line.strip()) for _, line in islice(read_lines(input_uri), done))
    for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
        columns = [batch.column(name).to_pylist() for name in COLUMNS]
        for line, text, words, error, raw, fatal in zip(*columns):
            if fatal:
                error = json.loads(fatal)  # named as the user named the input, not by its resolved path
                raise CorpusError(input_uri, error["where"], error["problem"], error["fix"])
            if error:
                yield BadRecord(line, error, raw)
            else:
                yield Annotated(line, text, words)
