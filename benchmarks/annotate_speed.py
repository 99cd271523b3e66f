"""Benchmark: annotate (JSONL out) with n_process 1 and 2 next to a bare nlp.pipe loop, and peak memory.

Texts are the `# text` lines of a CoNLL-U file (e.g. Bosque test). Each variant runs `repeats` times,
alternating; medians of words/s are printed with the ratio to the bare loop. Peak memory (max RSS) of
annotate is measured in child processes on the text and on a file 10x larger, to show that it streams.
Writes metrics/benchmark-annotate.json.

    python benchmarks/annotate_speed.py training/model-best assets/bosque/pt_bosque-ud-test.conllu
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import spacy
import typer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: scripts and pt_pipelines
from pt_pipelines.files import write_json  # noqa: E402
from scripts.annotate import annotate  # noqa: E402

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "annotate.py"


def peak_rss_mb(cmd: list[str]) -> float:
    """Max resident memory of a child process, in MiB (Linux reports KiB)."""
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return int(proc.stderr.strip().splitlines()[-1]) / 1024


def main(
    model: Path = typer.Argument(..., exists=True),
    conllu: Path = typer.Argument(..., exists=True),
    repeats: int = typer.Option(3, min=1),
    batch_size: int = typer.Option(64, min=1),
    output: Path = typer.Option(Path("metrics/benchmark-annotate.json")),
) -> None:
    """Print and record annotate throughput and memory."""
    texts = [
        line.split("=", 1)[1].strip()
        for line in conllu.read_text(encoding="utf8").splitlines()
        if line.startswith("# text")
    ]
    nlp = spacy.load(model)
    words = sum(len(d) for d in nlp.tokenizer.pipe(texts))
    times: dict[str, list[float]] = {"bare nlp.pipe": [], "annotate n_process=1": [], "annotate n_process=2": []}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "texts.txt"
        src.write_text("\n".join(texts) + "\n", encoding="utf8")
        big = Path(tmp) / "texts10.txt"
        big.write_text(("\n".join(texts) + "\n") * 10, encoding="utf8")
        for _ in range(repeats):
            start = time.perf_counter()
            for _doc in nlp.pipe(texts, batch_size=batch_size):
                pass
            times["bare nlp.pipe"].append(time.perf_counter() - start)
            for n in (1, 2):
                out = Path(tmp) / f"out{n}.jsonl"
                start = time.perf_counter()
                annotate(model, src, out, Path(tmp) / "rej.jsonl", batch_size=batch_size, n_process=n, overwrite=True)
                times[f"annotate n_process={n}"].append(time.perf_counter() - start)
        memory = {}
        for name, path in (("1x", src), ("10x", big)):
            memory[name] = peak_rss_mb(
                [
                    sys.executable,
                    str(SCRIPT),
                    str(model),
                    str(path),
                    str(Path(tmp) / f"m{name}.jsonl"),
                    "--batch-size",
                    str(batch_size),
                    "--overwrite",
                ]
            )
    base = words / statistics.median(times["bare nlp.pipe"])
    result = {
        "texts": len(texts),
        "words": words,
        "repeats": repeats,
        "batch_size": batch_size,
        "words_per_s": {k: words / statistics.median(v) for k, v in times.items()},
        "peak_rss_mb": memory,
        "spacy_version": spacy.__version__,
        "model": str(model),
    }
    result["ratio_to_bare"] = {k: v / base for k, v in result["words_per_s"].items()}
    write_json(output, result)
    print(f"{len(texts)} texts, {words} words, median of {repeats} runs (annotate includes loading the model)")
    for name, wps in result["words_per_s"].items():
        print(f"  {name:22} {wps:9.0f} words/s  {result['ratio_to_bare'][name]:.2f}x bare")
    print(f"  peak memory of annotate: {memory['1x']:.0f} MiB on the text, {memory['10x']:.0f} MiB on 10x the text")


if __name__ == "__main__":
    typer.run(main)
