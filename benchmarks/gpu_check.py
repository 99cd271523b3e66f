"""Check the GPU path end to end on the sample: `all` with a transformer config on the GPU, then the model on it.

What it checks, in order: PyTorch sees a CUDA device (torch.cuda), CuPy does (spaCy's GPU arrays: the
spacy[cuda12x] extra), thinc can switch to that device (require_gpu); then, in a copy of the project in a temp
folder, `all` on the shipped sample with --vars.gpu_id, a few steps (train and evaluate run on the GPU), and
model-best loaded on the GPU annotating one sentence with the transformer's tensors on the device.
Without a GPU it says so and exits 0: there is nothing to check.

    python benchmarks/gpu_check.py                 # BERTimbau from the hub (needs the network)
    python benchmarks/gpu_check.py --tiny          # a tiny random BERT built here: no network
    python benchmarks/gpu_check.py --transformer path/to/local/model --config configs/trf_ud_base_config.cfg
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import typer

ROOT = Path(__file__).resolve().parent.parent
BERTIMBAU = "neuralmind/bert-base-portuguese-cased"
SENTENCE = "A Ana Silva mora em Lisboa desde 2010 e trabalha no Banco de Portugal."
# what a copy of the project leaves out: generated outputs and virtual environments
SKIP = (
    "corpus",
    "training",
    "metrics",
    "packages",
    "models",
    "project.lock",
    ".git",
    ".venv",
    ".venv-trf",
    "__pycache__",
)


def gpu_status(gpu_id: int = 0) -> dict[str, Any]:
    """What this process can see: torch's CUDA devices, CuPy's, and whether thinc can use `gpu_id`."""
    status: dict[str, Any] = {"torch_cuda": False, "torch_device": None, "cupy_devices": 0, "thinc_gpu": False}
    try:
        import torch

        status["torch_cuda"] = torch.cuda.is_available()
        if status["torch_cuda"]:
            status["torch_device"] = torch.cuda.get_device_name(gpu_id)
    except ImportError:
        status["torch_error"] = "torch is not installed (pip install -r requirements-trf.txt)"
    try:
        import cupy

        status["cupy_devices"] = cupy.cuda.runtime.getDeviceCount()
    except ImportError:
        status["cupy_error"] = 'cupy is not installed (pip install "spacy[cuda12x]")'
    except Exception as error:  # CUDA present but unusable (driver, no device): cupy raises its own errors
        status["cupy_error"] = f"{type(error).__name__}: {error}"
    return status


def tiny_bert(folder: Path) -> Path:
    """A random 2-layer BERT with a WordPiece vocabulary over the sample's words: checks the path, not accuracy."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = set()
    for path in sorted((ROOT / "assets/sample").glob("*.conllu")):
        for line in path.read_text(encoding="utf8").splitlines():
            cols = line.split("\t")
            if len(cols) == 10 and cols[0].isdigit():
                words.add(cols[1])
    chars = sorted({c for w in words for c in w})
    vocab = list(dict.fromkeys(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words), *chars]))
    vocab += [f"##{c}" for c in chars]  # any word splits into characters: no [UNK]
    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=False).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    BertModel(config).save_pretrained(folder)
    return folder


def gpu_check(
    *,
    config: str = "configs/trf_base_config.cfg",
    transformer: str = BERTIMBAU,
    tiny: bool = False,
    gpu_id: int = 0,
    max_steps: int = 20,
    keep: Optional[Path] = None,
) -> dict[str, Any]:
    """Run the checks; return what was checked (status "no-gpu" when there is no device, "ok" when all passed)."""
    status = gpu_status(gpu_id)
    result: dict[str, Any] = {"gpu": status, "config": config, "gpu_id": gpu_id, "max_steps": max_steps}
    if not status["torch_cuda"] and not status["cupy_devices"]:
        return {**result, "status": "no-gpu"}
    if not status["torch_cuda"] or not status["cupy_devices"]:
        raise RuntimeError(f"the GPU is only half usable (torch and CuPy must both see it): {status}")
    import spacy
    from thinc.api import require_gpu
    from weasel.cli.run import project_run

    require_gpu(gpu_id)  # raises if thinc cannot allocate on the device
    status["thinc_gpu"] = True
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    try:
        project = work / "project"
        shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*SKIP))
        model_name = str(tiny_bert(work / "tiny-bert")) if tiny else transformer
        overrides = {
            "vars.base_config": config,
            "vars.pipeline": "gpu-check",
            "vars.transformer": model_name,
            "vars.gpu_id": gpu_id,
            "vars.max_steps": max_steps,
        }
        started = time.perf_counter()
        project_run(project, "all", overrides=overrides)  # convert, fill-config, ..., train and evaluate on the GPU
        result["all_seconds"] = round(time.perf_counter() - started, 1)
        summary = json.loads((project / "training/train-summary.json").read_text(encoding="utf8"))
        if summary["gpu_id"] != gpu_id:
            raise RuntimeError(f"train ran with gpu_id {summary['gpu_id']}, not {gpu_id}")
        scores = json.loads((project / "metrics/scores.json").read_text(encoding="utf8"))
        result["train"] = {k: summary[k] for k in ("steps", "seconds", "transformer", "gpu_id")}
        result["scores"] = {k: v for k, v in scores.items() if isinstance(v, float)}
        nlp = spacy.load(project / "training/model-best")
        doc = nlp(SENTENCE)
        tensor = doc._.trf_data.tensors[0] if "transformer" in nlp.pipe_names else doc.tensor
        result["annotate"] = {
            "ops": type(nlp.get_pipe(nlp.pipe_names[0]).model.ops).__name__,
            "tensor_type": f"{type(tensor).__module__}.{type(tensor).__name__}",
            "tokens": len(doc),
            "entities": [(e.text, e.label_) for e in doc.ents],
        }
        if result["annotate"]["ops"] != "CupyOps" or not result["annotate"]["tensor_type"].startswith("cupy"):
            raise RuntimeError(f"model-best did not run on the GPU: {result['annotate']}")
        if keep is not None:
            shutil.copytree(project, keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {**result, "status": "ok"}


def main(
    config: str = typer.Option("configs/trf_base_config.cfg", help="Base config (vars.base_config)"),
    transformer: str = typer.Option(BERTIMBAU, help="Hub name or local folder (vars.transformer)"),
    tiny: bool = typer.Option(False, help="Use a tiny random BERT built from the sample instead: no network"),
    gpu_id: int = typer.Option(0, help="GPU id (vars.gpu_id)"),
    max_steps: int = typer.Option(20, min=1, help="Training steps: the path is checked, not the accuracy"),
    keep: Optional[Path] = typer.Option(None, help="Copy the project (with its outputs) here when done"),
    output: Optional[Path] = typer.Option(None, help="Write the result as JSON here"),
) -> None:
    """Check the GPU path end to end on the sample; exit 0 without a GPU."""
    try:
        result = gpu_check(
            config=config, transformer=transformer, tiny=tiny, gpu_id=gpu_id, max_steps=max_steps, keep=keep
        )
    except RuntimeError as error:
        typer.echo(f"✘ {error}", err=True)
        raise typer.Exit(1) from error
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf8")
    if result["status"] == "no-gpu":
        typer.echo(f"ℹ no GPU here (torch.cuda and CuPy see none): nothing to check. {result['gpu']}")
        return
    gpu = result["gpu"]
    typer.echo(
        f"✔ torch sees {gpu['torch_device']}; CuPy sees {gpu['cupy_devices']} device(s); thinc uses GPU {gpu_id}"
    )
    typer.echo(f"✔ all ({config}) ran in {result['all_seconds']} s; train {result['train']} on GPU {gpu_id}")
    typer.echo(f"✔ evaluate: {json.dumps(result['scores'])}")
    typer.echo(f"✔ model-best on the GPU: {result['annotate']}")


if __name__ == "__main__":
    typer.run(main)
