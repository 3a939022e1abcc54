"""The plugin contract: the only studio module a model plugin imports (plus torch/numpy).

A plugin package exposes a module-level ``plugin`` object (a :class:`ModelPlugin`)
through the ``studio.models`` entry-point group; the entry-point name equals
``plugin.id``. See ``docs/plugin-guide.md``.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal

# Melody event encoding (pure Python): the ids a melody plugin reads and writes.
from studio.core.audio.events import (  # noqa: F401  (re-exported for plugins)
    HOLD, MAX_PITCH, MIN_PITCH, REST, STEPS_PER_BAR, STEPS_PER_QUARTER, Note, event_to_pitch,
    events_to_notes, notes_to_events, pitch_to_event, vocab_size,
)

Modality = Literal["image", "melody", "text"]
Family = Literal["gan", "vae", "rnn", "transformer", "diffusion", "other"]

#: Optional capabilities a plugin may declare. Panels enable themselves from these.
#: latent   - ``model.latent_dim`` and ``model.decode(z)``
#: encode   - ``model.encode(x)`` returns latent means (needs ``latent``)
#: continue - ``model.generate(prime_tokens, length, ...)`` streams tokens
#: score    - ``model.token_nll(tokens)``: summed surprise (nats) of each token after the first
#: onnx     - ``model.onnx_exports()`` lists exportable modules
CAPABILITIES = frozenset({"latent", "encode", "continue", "score", "onnx"})
MODALITIES = frozenset({"image", "melody", "text"})


class ConfigError(ValueError):
    """A hyperparameter value the user gave is unknown, of the wrong type or out of range."""


def param(default: Any, *, label: str, help: str = "", min: float | None = None,
          max: float | None = None, choices: tuple | None = None, log: bool = False) -> Any:
    """A config field whose metadata drives the Models panel's generated form.

    ``log=True`` hints that a slider should move on a log scale (learning rates).
    """
    return field(default=default, metadata={
        "label": label, "help": help, "min": min, "max": max,
        "choices": tuple(choices) if choices else None, "log": log,
    })


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: type
    default: Any
    label: str
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None
    log: bool = False


def config_params(config_cls: type) -> list[ParamSpec]:
    """Describe each field of a plugin's ``Config`` dataclass for forms and validation."""
    hints = typing.get_type_hints(config_cls)
    specs = []
    for f in dataclasses.fields(config_cls):
        md = f.metadata or {}
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        specs.append(ParamSpec(
            name=f.name, type=hints.get(f.name, type(default)), default=default,
            label=md.get("label", f.name.replace("_", " ").capitalize()), help=md.get("help", ""),
            min=md.get("min"), max=md.get("max"), choices=md.get("choices"), log=md.get("log", False)))
    return specs


def _coerce(spec: ParamSpec, value: Any) -> Any:
    t = spec.type
    try:
        if t is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if t is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(float(value)) if isinstance(value, str) and "e" in value.lower() else int(value)
        if t is float:
            return float(value)
        if t is str:
            return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{spec.name}: {value!r} is not a valid {t.__name__}") from exc
    return value


def config_from_dict(config_cls: type, values: dict[str, Any] | None = None, *, strict: bool = True):
    """Build a validated config. Unknown keys raise ``ConfigError`` when ``strict``."""
    values = dict(values or {})
    specs = {s.name: s for s in config_params(config_cls)}
    unknown = sorted(set(values) - set(specs))
    if unknown and strict:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(specs))}")
    kwargs = {}
    for name, value in values.items():
        if name not in specs:
            continue
        spec = specs[name]
        v = _coerce(spec, value)
        if spec.choices and v not in spec.choices:
            raise ConfigError(f"{name}: {v!r} is not one of {', '.join(map(str, spec.choices))}")
        if spec.min is not None and isinstance(v, (int, float)) and v < spec.min:
            raise ConfigError(f"{name}: {v} is below the minimum {spec.min}")
        if spec.max is not None and isinstance(v, (int, float)) and v > spec.max:
            raise ConfigError(f"{name}: {v} is above the maximum {spec.max}")
        kwargs[name] = v
    return config_cls(**kwargs)


def config_to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


@dataclass
class DataSpec:
    """What a model needs to know about its dataset to build itself."""
    modality: Modality
    # images
    image_size: int = 0
    channels: int = 0
    num_classes: int = 0
    # text: the character vocabulary (index -> character)
    vocab: list[str] = field(default_factory=list)
    # melodies: event vocabulary size and phrase length in 16th-note steps
    phrase_length: int = 0
    min_pitch: int = 0
    max_pitch: int = 0

    @property
    def vocab_size(self) -> int:
        if self.modality == "text":
            return len(self.vocab)
        if self.modality == "melody":
            return vocab_size(self.min_pitch, self.max_pitch)
        return 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DataSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class TextCodec:
    """Characters <-> token ids with a dataset's vocabulary (``DataSpec.vocab``: index -> character).

    Characters the vocabulary lacks are dropped (``unknown`` lists them), so a
    prime or a pasted text with a stray emoji still works with a model that never saw one.
    """

    def __init__(self, vocab: list[str]):
        if not vocab:
            raise ValueError("the text vocabulary is empty; import a text dataset first")
        self.vocab = list(vocab)
        self.index = {ch: i for i, ch in enumerate(self.vocab)}

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        return [self.index[ch] for ch in text if ch in self.index]

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` the vocabulary lacks, in order of appearance."""
        seen: dict[str, None] = {}
        for ch in text:
            if ch not in self.index:
                seen.setdefault(ch, None)
        return list(seen)

    def decode(self, tokens) -> str:
        return "".join(self.vocab[int(t)] for t in tokens)


@dataclass
class OnnxExport:
    """One module a plugin offers for ONNX export (its generating part)."""
    name: str
    module: Any  # torch.nn.Module
    example_inputs: tuple
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]]


@dataclass
class ModelPlugin:
    """Declared metadata plus a ``build`` factory. Declared, not computed (Orange style)."""
    id: str
    name: str
    version: str
    modality: Modality
    family: Family
    Config: type
    build: Callable[[Any, DataSpec], Any]  # (config, data_spec) -> StudioModel
    capabilities: frozenset[str] = frozenset()
    description: str = ""
    #: Engine settings this model trains best with, e.g. ``{"lr": 2e-4, "beta1": 0.5}``
    #: (keys of ``studio.core.training.settings.EngineSettings``); the user's ``--set`` wins.
    engine_defaults: dict[str, Any] = field(default_factory=dict)
    #: Values for Config keys that a recorded config (a run or checkpoint of an older version)
    #: lacks because the key did not exist yet: the behaviour it was trained with, e.g.
    #: ``{"r1_gamma": 0.0}`` when a new version turns a penalty on by default.
    recorded_defaults: dict[str, Any] = field(default_factory=dict)

    def recorded_config(self, values: dict[str, Any] | None) -> dict[str, Any]:
        """A recorded config with the keys it predates filled as they were (see ``recorded_defaults``)."""
        values = dict(values or {})
        if values:  # an empty record is no record: new defaults apply
            for key, value in self.recorded_defaults.items():
                values.setdefault(key, value)
        return values

    def validate(self) -> None:
        """Raise ``ValueError`` with a readable reason when the declaration is inconsistent."""
        if not self.id or not isinstance(self.id, str):
            raise ValueError("plugin id must be a non-empty string")
        if self.modality not in MODALITIES:
            raise ValueError(f"modality {self.modality!r} is not one of {sorted(MODALITIES)}")
        unknown = set(self.capabilities) - CAPABILITIES
        if unknown:
            raise ValueError(f"unknown capabilities {sorted(unknown)}")
        if not dataclasses.is_dataclass(self.Config):
            raise ValueError("Config must be a dataclass")
        try:
            self.Config()
        except TypeError as exc:
            raise ValueError(f"Config needs defaults for every field ({exc})") from exc
        if not callable(self.build):
            raise ValueError("build must be callable")
        names = {f.name for f in dataclasses.fields(self.Config)}
        if set(self.recorded_defaults) - names:
            raise ValueError(f"recorded_defaults names unknown settings {sorted(set(self.recorded_defaults) - names)}")


# -- capabilities as typed interfaces -------------------------------------------------------
# What a model offers for each capability its plugin declares. The studio's session layer
# (``studio.core.session.open_run``) checks a loaded model against the protocols of its declared
# capabilities and reaches it only through them; tensors are ``torch.Tensor`` (typed ``Any`` so that
# importing the API never imports torch).

@typing.runtime_checkable
class LatentModel(typing.Protocol):
    """``latent``: a vector space the samples are decoded from (the Latent grid, walks, recipes)."""
    latent_dim: int

    def decode(self, z: Any) -> Any:
        """float (n, latent_dim) -> images float (n,C,H,W) in [0,1], or melodies long (n,L) event ids."""


@typing.runtime_checkable
class LatentDrawing(typing.Protocol):
    """Optional with ``latent``: the vectors ``sample(n, seed)`` decodes, so an exported file records
    (and restores) exactly its own vector. A model whose ``sample`` takes a temperature names it
    here too: ``latents(n, seed, temperature=None)``."""

    def latents(self, n: int, seed: int = 0) -> Any:
        """float (n, latent_dim), deterministic for a seed."""


@typing.runtime_checkable
class EncodingModel(typing.Protocol):
    """``encode``: latent means of training items (principal directions in the Latent grid)."""

    def encode(self, x: Any) -> Any:
        """a batch as the model trains on it -> float (n, latent_dim)."""


@typing.runtime_checkable
class ContinuingModel(typing.Protocol):
    """``continue``: stream token ids after a prime (text characters, melody events)."""

    def generate(self, prime_tokens: list[int], length: int, *, temperature: float = 1.0, top_k: int = 0,
                 top_p: float = 1.0, seed: int = 0) -> Iterator[int]:
        """Yield ``length`` token ids one at a time, deterministically for a seed. ``repetition_penalty=``
        is passed only when the user sets it above 1."""


@typing.runtime_checkable
class ScoringModel(typing.Protocol):
    """``score``: how surprised the model is by a sequence."""

    def token_nll(self, tokens: list[int]) -> float:
        """Summed cross-entropy (nats) of each token after the first given those before it."""


@typing.runtime_checkable
class OnnxExportable(typing.Protocol):
    """``onnx``: the generating modules, for ``studio export-onnx`` and onnxruntime previews."""

    def onnx_exports(self) -> list["OnnxExport"]:
        """One :class:`OnnxExport` per module."""


#: the interface a model must offer for each declared capability
CAPABILITY_PROTOCOLS: dict[str, type] = {
    "latent": LatentModel, "encode": EncodingModel, "continue": ContinuingModel,
    "score": ScoringModel, "onnx": OnnxExportable,
}


def missing_methods(model: Any, capabilities: frozenset[str] | set[str]) -> dict[str, list[str]]:
    """For each declared capability the model does not implement, the members it lacks (empty: all fine)."""
    missing: dict[str, list[str]] = {}
    for cap in sorted(capabilities):
        proto = CAPABILITY_PROTOCOLS.get(cap)
        if proto is None or isinstance(model, proto):
            continue
        members = set(getattr(proto, "__annotations__", {})) | {n for n in vars(proto) if not n.startswith("_")}
        missing[cap] = sorted(n for n in members if not hasattr(model, n))
    return missing


# The model side of the contract (studio.core.plugins.model) and the sampling helpers
# (studio.core.sampling) import torch: they are re-exported lazily so that importing the API,
# and so discovering plugins, never imports torch.
_LAZY = {
    "StudioModel": "studio.core.plugins.model",
    "Optimizers": "studio.core.plugins.model",
    "generator_for": "studio.core.plugins.model",
    "small_model_decoding": "studio.core.plugins.model",
    "pick": "studio.core.sampling",
    "adjust_logits": "studio.core.sampling",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


Iterator = Iterator  # re-exported for plugin type hints
