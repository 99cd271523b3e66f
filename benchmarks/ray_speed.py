"""Benchmark: does Ray pay off here? Sweep trials and annotation, sequential/local next to Ray, in one run.

Sweep: the same N seeded trials (configs/sweep.yml's space, fixed steps, no early stopping) trained
one after another in one process, then on Ray with --cpus trials at a time; then on Ray with ASHA.
Annotation: `annotate` (local backend, nlp.pipe in one process) next to `annotate --backend ray`
on at least 50k sentences (the `# text` lines of CoNLL-U files, repeated), median of repeats.
Ray's start-up cost is timed on its own (a local Ray up and a no-op task back). Writes
metrics/benchmark-ray.json.

    python benchmarks/ray_speed.py --model training/model-best --train corpus/train.spacy --dev corpus/dev.spacy \\
        --conllu assets/bosque/pt_bosque-ud-test.conllu
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import spacy
import srsly
import typer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the project root: scripts and pt_pipelines
from pt_pipelines.files import write_json  # noqa: E402

STARTUP = (
    "import sys, time; t = time.perf_counter(); from pt_pipelines.distributed.ray_setup import init_ray, ray; "
)
STARTUP += "init_ray(int(sys.argv[1])); ray.get(ray.remote(lambda: 1).remote()); print(time.perf_counter() - t)"


def run(cmd: list[str]) -> float:
    """Wall time of a child process that must succeed."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def sweep_times(train: Path, dev: Path, base_config: Path, trials: int, steps: int, cpus: int, tmp: Path) -> dict:
    common = [
        sys.executable, "-m", "scripts.sweep", str(base_config), "--train", str(train), "--dev", str(dev),
        "--num-samples", str(trials), "--max-steps", str(steps), "--eval-frequency", str(max(steps // 4, 1)),
        "--cpus", str(cpus), "--best", str(tmp / "best.cfg"),
    ]  # fmt: skip
    out: dict = {"trials": trials, "steps_per_trial": steps}
    spec = srsly.read_yaml(ROOT / "configs/sweep.yml")
    spaces = {}
    for scheduler in ("fifo", "asha"):
        spaces[scheduler] = tmp / f"{scheduler}.yml"
        srsly.write_yaml(spaces[scheduler], {**spec, "scheduler": scheduler, "grace_period": max(steps // 4, 1)})
    for name, backend, space in (
        ("sequential", "sequential", spaces["fifo"]),
        ("ray", "ray", spaces["fifo"]),
        ("ray_asha", "ray", spaces["asha"]),
    ):
        record = tmp / f"{name}.json"
        seconds = run(
            [
                *common,
                "--space",
                str(space),
                "--backend",
                backend,
                "--output",
                str(record),
                "--storage",
                str(tmp / name),
            ]
        )
        result = json.loads(record.read_text())
        out[name] = {
            "seconds": round(seconds, 1),
            "steps_trained": result["steps_trained"],
            "best": result["best"]["best"],
            "stopped_early": sum(t["status"] == "stopped early" for t in result["trials"]),
        }
        print(
            f"  sweep {name:10} {seconds:7.1f} s  {result['steps_trained']:6d} steps  best {result['best']['best']:.4f}"
        )
    out["speedup_ray"] = out["sequential"]["seconds"] / out["ray"]["seconds"]
    out["speedup_ray_asha"] = out["sequential"]["seconds"] / out["ray_asha"]["seconds"]
    return out


def annotate_times(model: Path, texts: list[str], repeats: int, cpus: int, actors: int, batch: int, tmp: Path) -> dict:
    """Wall time of whole annotate runs (process start, model load, Ray start included) on the texts and on a
    tenth of them; the two sizes give each backend's fixed cost and steady rate, hence where Ray starts to pay."""
    nlp = spacy.load(model)
    sizes = {"full": texts, "tenth": texts[: len(texts) // 10]}
    words = {name: sum(len(d) for d in nlp.tokenizer.pipe(part)) for name, part in sizes.items()}
    times: dict[tuple[str, str], list[float]] = {}
    for size, part in sizes.items():
        src = tmp / f"texts-{size}.txt"
        src.write_text("\n".join(part) + "\n", encoding="utf8")
        for _ in range(repeats):  # alternating, so that drift in the machine hits both alike
            for backend in ("local", "ray"):
                out = tmp / f"{backend}-{size}.jsonl"
                args = (
                    ["--backend", "ray", "--max-actors", str(actors), "--ray-cpus", str(cpus)]
                    if backend == "ray"
                    else []
                )
                cmd = [sys.executable, "-m", "scripts.annotate", str(model), str(src), str(out), "--overwrite"]
                times.setdefault((backend, size), []).append(run([*cmd, "--batch-size", str(batch), *args]))
    median = {key: statistics.median(v) for key, v in times.items()}
    result: dict = {
        "sentences": len(texts),
        "words": words["full"],
        "repeats": repeats,
        "identical_output": (tmp / "local-full.jsonl").read_bytes() == (tmp / "ray-full.jsonl").read_bytes(),
    }
    for backend in ("local", "ray"):
        t_full, t_tenth = median[(backend, "full")], median[(backend, "tenth")]
        rate = (words["full"] - words["tenth"]) / (t_full - t_tenth)  # steady words/s, fixed costs cancel out
        result[backend] = {
            "seconds": round(t_full, 1),
            "words_per_s": words["full"] / t_full,
            "seconds_tenth": round(t_tenth, 1),
            "steady_words_per_s": rate,
            "fixed_seconds": round(t_full - words["full"] / rate, 1),
        }
        print(
            f"  annotate {backend:6} {result[backend]['words_per_s']:8.0f} words/s overall ({t_full:.1f} s); steady "
            f"{rate:8.0f} words/s, fixed cost {result[backend]['fixed_seconds']} s"
        )
    local, ray_ = result["local"], result["ray"]
    result["ratio_ray_to_local"] = ray_["words_per_s"] / local["words_per_s"]
    result["steady_ratio_ray_to_local"] = ray_["steady_words_per_s"] / local["steady_words_per_s"]
    gain = 1 / local["steady_words_per_s"] - 1 / ray_["steady_words_per_s"]  # seconds saved per word
    extra = ray_["fixed_seconds"] - local["fixed_seconds"]
    result["ray_pays_off_from_words"] = round(extra / gain) if gain > 0 else None
    print(
        f"  Ray pays off from about {result['ray_pays_off_from_words']} words"
        if gain > 0
        else "  Ray never pays off here"
    )
    return result


def main(
    model: Path = typer.Option(..., exists=True, file_okay=False, help="Pipeline for the annotation benchmark"),
    train: Path = typer.Option(Path("corpus/train.spacy"), exists=True, help="Training data of the sweep"),
    dev: Path = typer.Option(Path("corpus/dev.spacy"), exists=True, help="Dev data of the sweep"),
    conllu: list[Path] = typer.Option(..., exists=True, help="CoNLL-U files whose # text lines are annotated"),
    base_config: Path = typer.Option(Path("configs/base_config.cfg"), exists=True),
    sentences: int = typer.Option(50_000, min=1, help="Sentences to annotate (texts repeated up to this many)"),
    trials: int = typer.Option(4, min=1),
    steps: int = typer.Option(200, min=1, help="Steps per sweep trial"),
    cpus: int = typer.Option(2, min=1),
    repeats: int = typer.Option(3, min=1),
    batch_size: int = typer.Option(64, min=1),
    skip_sweep: bool = typer.Option(False, "--skip-sweep"),
    output: Optional[Path] = typer.Option(Path("metrics/benchmark-ray.json")),
) -> None:
    """Print and record sweep wall times and annotation throughput, sequential/local vs Ray."""
    texts = [
        line.split("=", 1)[1].strip()
        for path in conllu
        for line in path.read_text(encoding="utf8").splitlines()
        if line.startswith("# text")
    ]
    texts = (texts * (sentences // len(texts) + 1))[:sentences]
    startup = [float(subprocess.run([sys.executable, "-c", STARTUP, str(cpus)], capture_output=True, text=True,
                                    cwd=ROOT, check=True).stdout.split()[-1]) for _ in range(repeats)]  # fmt: skip
    print(f"Ray start-up (local, {cpus} CPUs, first task back): {statistics.median(startup):.1f} s median")
    result: dict = {"cpus": cpus, "ray_startup_seconds": round(statistics.median(startup), 2)}
    with tempfile.TemporaryDirectory() as tmp:
        if not skip_sweep:
            result["sweep"] = sweep_times(train, dev, base_config, trials, steps, cpus, Path(tmp))
        result["annotate"] = annotate_times(model, texts, repeats, cpus, cpus, batch_size, Path(tmp))
    import ray

    result.update({"spacy_version": spacy.__version__, "ray_version": ray.__version__, "model": str(model)})
    if output:
        write_json(output, result)
        print(f"✔ {output}")


if __name__ == "__main__":
    typer.run(main)
