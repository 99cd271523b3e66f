"""The filled config: a base config, the experiment overlays on it, and every setting the workflow's vars decide, so
that `python -m spacy train configs/config.cfg` alone trains what the workflow trains. Every choice that can clash is
checked here, before any long step runs.
"""

import copy
import importlib.metadata
import re
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
from spacy.cli.init_config import fill_config as spacy_fill_config
from spacy.tokens import DocBin
from thinc.api import Config

from pt_pipelines.errors import ConfigError

AUTO = "configs/auto.cfg"
BASES = {"full": "configs/base_config.cfg", "ud": "configs/ud_base_config.cfg", "ner": "configs/ner_base_config.cfg"}
EXPERIMENTS = Path("configs/experiments")
# Where init-vectors and init-weights put what the config loads (project.yml's outputs of those steps)
OUTSIDE_VECTORS = "training/vectors/nlp"
FLORET_VECTORS = "training/init/vectors"
PRETRAINED_TOK2VEC = "training/init/pretrain/model-last.bin"
INITS = ("none", "vectors", "pretrain")


@dataclass(frozen=True)
class Settings:
    """What the workflow's vars decide about a training run (project.yml passes them to fill-config)."""

    train: str = "corpus/train.spacy"
    dev: str = "corpus/dev.spacy"
    seed: int = 0
    max_steps: int = 0
    gpu_id: int = -1
    init: str = "none"  # none, vectors (floret on the raw text) or pretrain (spacy pretrain on it)
    vectors: str = ""  # static vectors you have: a file, a pipeline folder or a package; empty = none
    transformer: str = ""  # the transformer's name for a config that has one; empty keeps the config's
    raw_text: str = "corpus/raw_text.jsonl"
    pretrain_epochs: int = 10


def choose_base_config(train: Path, lang: str = "pt") -> tuple[str, Path]:
    """The pipeline kind (full, ud or ner) and base config for what the training docs annotate: "ud" (POS, morphology
    or dependencies), "ner" (entities) or both."""
    layers: set[str] = set()
    try:
        for doc in DocBin().from_disk(train).get_docs(spacy.blank(lang).vocab):
            if doc.has_annotation("POS") or doc.has_annotation("DEP") or doc.has_annotation("MORPH"):
                layers.add("ud")
            if doc.ents:
                layers.add("ner")
            if layers == {"ud", "ner"}:
                break
    except (OSError, ValueError, KeyError, TypeError, zlib.error) as e:
        raise ConfigError(f"{train}: not a spaCy DocBin ({type(e).__name__}): run convert again") from None
    if not layers:
        raise ConfigError(f"{train}: no POS, dependencies or entities to train on: check the corpus (corpus/stats.json), "
            "or choose a base config with --vars.base_config")
    kind = "full" if layers == {"ud", "ner"} else layers.pop()
    return kind, Path(BASES[kind])


def pipeline_kind(config: Config) -> str:
    """full, ud or ner, from the components a config trains."""
    pipes = set(config["nlp"]["pipeline"])
    return "full" if {"parser", "ner"} <= pipes else "ner" if "ner" in pipes else "ud"


def read_overlay(name: str, folder: Path = EXPERIMENTS) -> Config:
    """configs/experiments/<name>.cfg: only the settings an experiment changes."""
    path = folder / f"{name}.cfg"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.cfg"))) or "none"
        raise ConfigError(f"no experiment {name!r}: {path} does not exist (experiments: {known})")
    # confection wants every parent of [a.b.c] declared: an overlay names only the blocks it changes
    lines, declared = [], set()
    for line in path.read_text(encoding="utf8").splitlines():
        if match := re.fullmatch(r"\[([\w.]+)\]\s*", line):
            parts = match.group(1).split(".")
            parents = [".".join(parts[:depth]) for depth in range(1, len(parts))]
            lines += [f"[{parent}]" for parent in parents if parent not in declared]
            declared.update([*parents, match.group(1)])
        lines.append(line)
    try:
        overlay = Config().from_str("\n".join(lines), interpolate=False)
    except Exception as e:  # confection's parse and validation errors have no common base
        raise ConfigError(f"{path}: not a config overlay: {str(e).strip()}") from None
    if "nlp" in overlay and "pipeline" in overlay["nlp"]:
        raise ConfigError(f"{path} is a whole config, not an experiment: use --vars.base_config {path}")
    return overlay


def overlay_onto(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """base with overlay's settings. A block whose registered function (@architectures, @schedules, ...)
    differs from the base's replaces it whole: the old function's arguments mean nothing to the new one."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        old = merged.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            swapped = any(k.startswith("@") and old.get(k) != v for k, v in value.items())
            merged[key] = copy.deepcopy(value) if swapped else overlay_onto(old, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def eval_frequency(max_steps: int, configured: int) -> int:
    """How often to evaluate so that the last step is evaluated and a run has at least five evaluations after step 0:
    the largest divisor of max_steps not above the configured frequency nor max_steps / 5. spaCy evaluates at every
    step divisible by eval_frequency, step 0 included, and trains through step max_steps: with 1500 steps and 200 the
    last 100 steps would never be looked at."""
    if max_steps <= 0:
        return configured
    target = max(1, min(configured, max_steps // 5))
    divisor = next(d for d in range(target, 0, -1) if max_steps % d == 0)
    # a max_steps with no divisor near the target (a prime) would evaluate far too often: keep the target
    return divisor if divisor * 2 >= target else target


def blocks(config: Any) -> list[dict[str, Any]]:
    """Every block of the config, nested ones included."""
    if not isinstance(config, dict):
        return []
    return [config] + [block for value in config.values() for block in blocks(value)]


def embed_layers(config: Any) -> list[dict[str, Any]]:
    """Every block of the config with an include_static_vectors setting (the embed layers)."""
    return [block for block in blocks(config) if "include_static_vectors" in block]


def check_lstm_dropout(config: Any, origin: str) -> None:
    """PyTorch applies an LSTM's dropout between its layers only: refuse a dropout that one layer would ignore."""
    for block in blocks(config):
        if block.get("@architectures") == "spacy.TorchBiLSTMEncoder.v1" and block.get("depth", 2) <= 1 and block.get("dropout"):
            raise ConfigError(f"{origin}: TorchBiLSTMEncoder has depth {block['depth']} and dropout {block['dropout']}, "
                "but PyTorch applies an LSTM's dropout between its layers only, so it would do nothing: set dropout = 0.0, "
                "or depth = 2 or more")


def vectors_source(source: str) -> str:
    """The outside vectors as the config names them: a file or folder as given, a package with its version."""
    if Path(source).exists():
        return source
    if spacy.util.is_package(source):
        return f"{source}=={importlib.metadata.version(source)}"
    raise ConfigError(f"--vars.vectors {source}: no such file, folder or installed spaCy package: give a .txt/.vec(.gz) or "
        "floret file, a pipeline folder, or pip install the package (e.g. pt_core_news_lg)")


def check_choices(config: Config, settings: Settings) -> None:
    """Refuse combinations of init, vectors and transformer that cannot train, before anything runs."""
    pipeline, init, vectors = config["nlp"]["pipeline"], settings.init, settings.vectors
    refusals = [
        (init not in INITS, f"--vars.init {init}: choose none, vectors or pretrain"),
        (vectors and init == "vectors", "two sources of static vectors: --vars.vectors and --vars.init vectors. Choose "
         'one: set --vars.init none to use your vectors, or --vars.vectors "" to train floret vectors on the raw text'),
        (init != "none" and "transformer" in pipeline, f"--vars.init {init} with a transformer config: the "
         "transformer is pretrained already: use --vars.init none"),
        ((vectors or init == "vectors") and not embed_layers(config["components"]),
         "no embed layer of the config has include_static_vectors, so no vectors can be used"),
        (init == "pretrain" and config.get("pretraining", {}).get("component") not in pipeline,
         "[pretraining] component is not in the pipeline: point it at the pipeline's tok2vec"),
        ("output_file" not in config["training"].get("logger", {}), "[training.logger] has no output_file, so no "
         'JSONL log can be written: use @loggers = "spacy.ConsoleLogger.v3" with output_file = null in the base config'),
    ]
    if problem := next((problem for refused, problem in refusals if refused), None):
        raise ConfigError(problem)


def settle(config: Config, settings: Settings) -> Config:
    """Write every setting the vars decide into a filled config."""
    check_choices(config, settings)
    config = Config(copy.deepcopy(dict(config)))
    paths, training = config["paths"], config["training"]
    paths.update(train=settings.train, dev=settings.dev)
    config["system"]["seed"] = settings.seed
    training["max_steps"] = settings.max_steps
    training["eval_frequency"] = eval_frequency(settings.max_steps, training["eval_frequency"])
    rate = training["optimizer"].get("learn_rate")
    if isinstance(rate, dict) and "total_steps" in rate:  # the decay must end with training, not before or after
        if not settings.max_steps:
            raise ConfigError(f"[training.optimizer.learn_rate] decays over total_steps = {rate['total_steps']}, but max_steps "
                "is 0 (train until patience): set max_steps (--vars.max_steps) to the steps to train")
        rate["total_steps"] = settings.max_steps
    if settings.vectors or settings.init == "vectors":
        paths["vectors"] = OUTSIDE_VECTORS if settings.vectors else FLORET_VECTORS
        for layer in embed_layers(config["components"]):
            layer["include_static_vectors"] = True
    if settings.vectors:
        paths["vectors_source"] = vectors_source(settings.vectors)
    if settings.init == "pretrain":
        paths.update(init_tok2vec=PRETRAINED_TOK2VEC, raw_text=settings.raw_text)
        config["pretraining"]["max_epochs"] = settings.pretrain_epochs
    transformer = config["components"].get("transformer", {}).get("model", {})
    if settings.transformer and "name" in transformer:
        transformer["name"] = settings.transformer
    if settings.gpu_id < 0 and transformer.get("mixed_precision"):
        transformer["mixed_precision"] = False  # float16 autocast and the gradient scaler need a CUDA device
    return config


def fill(base_config: Path, settings: Settings, experiments: list[str] = (), lang: str = "pt") -> Config:
    """The complete config: base_config (or the one auto chooses) with each experiment applied in turn (its components
    must be in the base), filled with spaCy's defaults and a [pretraining] block, then every setting of `settings`."""
    if base_config.as_posix().endswith(AUTO):
        _, base_config = choose_base_config(Path(settings.train), lang)
    elif not re.search(r"^\[nlp\]", base_config.read_text(encoding="utf8"), re.M):
        raise ConfigError(f"{base_config} is an experiment, not a base config: use --vars.experiment {base_config.stem}")
    merged = spacy.util.load_config(base_config, interpolate=False)
    for name in experiments:
        overlay = read_overlay(name)
        if missing := sorted(set(overlay.get("components", {})) - set(merged["components"])):
            raise ConfigError(f"experiment {name!r} changes {', '.join(missing)}, which {base_config} does not train: "
                "choose a base config with it (--vars.base_config) or another experiment")
        merged = Config(overlay_onto(dict(merged), dict(overlay)))
    check_lstm_dropout(merged, " + ".join([base_config.as_posix(), *experiments]))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "base.cfg").write_text(merged.to_str(), encoding="utf8")
        spacy_fill_config(Path(tmp) / "filled.cfg", Path(tmp) / "base.cfg", pretraining=True, silent=True)
        filled = spacy.util.load_config(Path(tmp) / "filled.cfg", interpolate=False)
    filled["paths"].update(base_config=base_config.as_posix(), experiment=",".join(experiments) or None)
    return settle(filled, settings)
