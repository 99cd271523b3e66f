"""One sweep trial: an ordinary single-process `spacy train` run with config overrides. A registered spaCy logger
passes every dev evaluation to a reporter: Ray Tune's `tune.report` in a Ray trial (so ASHA can stop a poor trial
early), a list in a sequential run. Kept apart from sweep.py so that Ray workers import it by name and the logger is
registered there too.
"""

import io
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

import spacy
from spacy import util
from spacy.cli.train import train as spacy_train

from pt_pipelines.files import remove_path

TUNE_LOGGER = "pt_pipelines.TuneLogger.v1"
Reporter = Callable[[dict[str, Any]], None]
_reporter: Optional[Reporter] = None  # set by run_trial in the trial's own process


@spacy.registry.loggers(TUNE_LOGGER)
def tune_logger_v1(console_output: bool = False, output_file: Optional[str] = None, progress_bar: Optional[str] = None):
    """spacy.ConsoleLogger.v3 that also reports each evaluation's scores to the trial's reporter."""
    console = spacy.registry.loggers.get("spacy.ConsoleLogger.v3")(progress_bar=progress_bar,
        console_output=console_output, output_file=output_file)

    def setup(nlp, stdout=sys.stdout, stderr=sys.stderr):
        log_step, finalize = console(nlp, stdout, stderr)

        def step(info: Optional[dict[str, Any]]) -> None:
            log_step(info)
            if info is not None and info.get("score") is not None and _reporter is not None:
                # the numbers of one evaluation: step, weighted score and every numeric dev score
                scores = {name: float(value) for name, value in (info.get("other_scores") or {}).items()
                          if isinstance(value, (int, float)) and not isinstance(value, bool)}
                _reporter({"step": int(info["step"]), "score": float(info["score"]), **scores})

        return step, finalize

    return setup


# [paths] entries a filled config may point at files of the project: vectors (init-vectors, init-weights) and
# pretrained tok2vec weights (init-weights)
SHIPPED_PATHS = ("vectors", "init_tok2vec")


def pack_paths(config: Any) -> dict[str, bytes]:
    """The files and folders the config's [paths] vectors and init_tok2vec name, each as a tar archive in memory: a
    trial gets them like its corpus (a Ray worker starts in its own folder, maybe on another machine). A name that is
    not a file or folder here (an installed package) stays as it is."""
    packed = {}
    for name in SHIPPED_PATHS:
        value = config["paths"].get(name)
        if isinstance(value, str) and value and Path(value).exists():
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w", dereference=True) as tar:  # a linked file goes as a file
                tar.add(value, arcname=name)
            packed[name] = buffer.getvalue()
    return packed


def unpack_paths(packed: dict[str, bytes], workdir: Path) -> dict[str, str]:
    """Write the archives of pack_paths into workdir; return the [paths] overrides that point at them."""
    for data in packed.values():
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            # our own archives; the "data" filter where this Python has it (3.9.17, 3.10.12, 3.11.4 and later)
            tar.extractall(workdir, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return {f"paths.{name}": str(workdir / name) for name in packed}


def run_trial(params: dict[str, Any], *, base_config: str, train: bytes, dev: bytes, max_steps: int,
        eval_frequency: int, seed: int, workdir: Path, reporter: Reporter,
        inputs: Optional[dict[str, bytes]] = None) -> None:  # fmt: skip
    """Train one trial in workdir (its own folder: trials never share files) from the base config with the trial's
    values, its own corpus paths (and the vectors and weights of `inputs`, from pack_paths), step budget and
    reporting logger; report each evaluation."""
    global _reporter
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "train.spacy").write_bytes(train)
    (workdir / "dev.spacy").write_bytes(dev)
    # the vectors and weights go to a folder of their own, outside workdir: Ray copies a trial's folder to the
    # sweep's storage while it trains, and they are copies of the project's files, not results
    with tempfile.TemporaryDirectory(prefix="sweep-inputs-") as shipped:
        overrides = {**params, "paths.train": str(workdir / "train.spacy"), "paths.dev": str(workdir / "dev.spacy"),
                     **unpack_paths(inputs or {}, Path(shipped)),
                     "training.max_steps": max_steps, "training.eval_frequency": eval_frequency, "system.seed": seed}
        config = util.load_config_from_str(base_config, overrides=overrides, interpolate=False)
        config["training"]["logger"] = {"@loggers": TUNE_LOGGER, "console_output": False,
                                        "output_file": str(workdir / "log.jsonl"), "progress_bar": None}
        config.to_disk(workdir / "config.cfg")
        _reporter = reporter
        try:
            spacy_train(workdir / "config.cfg", workdir / "model", use_gpu=-1)
        finally:
            _reporter = None
            remove_path(workdir / "model")  # a sweep keeps configs and scores; `train` makes the real model


def tune_trainable(config: dict[str, Any], **settings: Any) -> None:
    """Ray Tune's entry point for a trial: its own directory, scores reported with tune.report."""
    from ray import tune

    workdir = Path(tune.get_context().get_trial_dir()) / "spacy"
    run_trial(config["trial"]["params"], workdir=workdir, reporter=tune.report, **settings)
