"""Training configuration: every hyper-parameter, read from YAML with ``key.sub=value``
overrides, validated up front with errors that name the key."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stages.errors import InputError
from stages.model.cfr import ModelConfig
from stages.train.losses import DEFAULT_CLASS_WEIGHTS, HEADS

SELECT_METRICS = {"qwk": "max", "mae": "min", "amae": "min", "mcre": "min", "amcre": "min", "loss": "min"}


@dataclass(frozen=True)
class LossConfig:
    """``name`` one of the heads of :mod:`stages.train.losses`; ``class_weights`` for the soft
    label losses; ``cost_lambda`` for cost-sensitive classification."""

    name: str = "cr"
    class_weights: tuple[float, ...] = DEFAULT_CLASS_WEIGHTS
    cost_lambda: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_weights", tuple(float(w) for w in self.class_weights))
        if self.name not in HEADS:
            raise ValueError(f"loss.name must be one of {', '.join(HEADS)}, got '{self.name}'")


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up then cosine decay to zero over ``epochs``; gradient norm
    clipped to ``grad_clip`` (0: off)."""

    lr: float = 1e-3
    weight_decay: float = 1e-3
    batch_size: int = 32
    epochs: int = 150
    warmup_epochs: int = 15
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        checks = (
            (self.lr > 0, f"optim.lr must be > 0, got {self.lr}"),
            (self.weight_decay >= 0, f"optim.weight_decay must be >= 0, got {self.weight_decay}"),
            (self.grad_clip >= 0, f"optim.grad_clip must be >= 0 (0: off), got {self.grad_clip}"),
            (self.batch_size >= 1, f"optim.batch_size must be >= 1, got {self.batch_size}"),
            (self.epochs >= 1, f"optim.epochs must be >= 1, got {self.epochs}"),
            (0 <= self.warmup_epochs <= self.epochs,
             f"optim.warmup_epochs must lie in 0..optim.epochs ({self.epochs}), got {self.warmup_epochs}"),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True)
class DataConfig:
    """Loader workers and training augmentation (see :class:`stages.dataset.loader.Augment`)."""

    num_workers: int = 4
    augment: bool = True
    max_degrees: float = 10.0
    intensity: float = 0.05
    noise: float = 0.0
    blur: float = 0.0

    def __post_init__(self) -> None:
        for name in ("num_workers", "max_degrees", "intensity", "noise", "blur"):
            if getattr(self, name) < 0:
                raise ValueError(f"data.{name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class RunConfig:
    """Seed, deterministic algorithms, mixed precision on GPU, the metric that picks the best
    checkpoint, and the device (``auto``: CUDA when present)."""

    seed: int = 0
    deterministic: bool = False
    amp: bool = True
    select: str = "amcre"
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.select not in SELECT_METRICS:
            raise ValueError(f"run.select must be one of {', '.join(SELECT_METRICS)}, got '{self.select}'")


@dataclass(frozen=True)
class TrainConfig:
    """The whole configuration of a training run."""

    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    run: RunConfig = field(default_factory=RunConfig)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """From nested mappings; unknown sections or keys raise ``ValueError`` naming them."""
        sections = {f.name: f.default_factory for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(sections))
        if unknown:
            raise ValueError(f"unknown config section(s): {', '.join(unknown)}")
        built = {}
        for name, factory in sections.items():
            section = values.get(name) or {}
            if not isinstance(section, Mapping):
                raise ValueError(f"config section '{name}' must be a mapping")
            known = {f.name for f in dataclasses.fields(factory)}
            bad = sorted(set(section) - known)
            if bad:
                raise ValueError(f"unknown config key(s): {', '.join(f'{name}.{k}' for k in bad)}")
            types = {f.name: f.type for f in dataclasses.fields(factory)}
            section = {k: _coerce(f"{name}.{k}", types[k], v) for k, v in section.items()}
            try:
                built[name] = factory(**section)
            except TypeError as exc:
                raise ValueError(f"config section '{name}': {exc}") from None
        return cls(**built)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (YAML- and JSON-ready)."""
        out = dataclasses.asdict(self)
        out["model"] = self.model.to_dict()
        out["loss"]["class_weights"] = list(self.loss.class_weights)
        return out


def _coerce(key: str, type_name: str, value: Any) -> Any:
    """``value`` as the field's declared type (``float``, ``int``, ``bool``, ``str`` or a tuple
    of numbers); YAML reads ``3e-4`` as a string, so numbers are parsed here."""
    def number(v: Any, kind: type) -> Any:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise ValueError(f"{key} must be a number, got {v!r}")
        try:
            parsed = float(v)
        except ValueError:
            raise ValueError(f"{key} must be a number, got {v!r}") from None
        if kind is int:
            if parsed != int(parsed):
                raise ValueError(f"{key} must be an integer, got {v!r}")
            return int(parsed)
        return parsed

    if type_name in ("float", "int"):
        return number(value, float if type_name == "float" else int)
    if type_name == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, got {value!r}")
        return value
    if type_name == "str":
        return str(value)
    if type_name.startswith("tuple"):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{key} must be a list, got {value!r}")
        return tuple(number(v, int if "int" in type_name else float) for v in value)
    return value


def apply_overrides(values: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (value parsed as YAML) to nested ``values``."""
    out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in values.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2 or not all(parts):
            raise ValueError(f"--set expects section.key=value, got '{item}'")
        section, name = parts
        out.setdefault(section, {})
        if not isinstance(out[section], dict):
            raise ValueError(f"--set {item}: '{section}' is not a config section")
        out[section][name] = yaml.safe_load(raw)
    return out


def load_config(path: str | Path | None, overrides: Sequence[str] = ()) -> TrainConfig:
    """The config from a YAML file (None: the paper's defaults) with overrides applied.
    Raises :class:`InputError` naming the file for unreadable YAML or bad keys and values."""
    values: dict[str, Any] = {}
    where = str(path) if path is not None else "--set"
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise InputError(path, "config file does not exist")
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise InputError(path, f"not valid YAML: {' '.join(str(exc).split())}") from None
        if not isinstance(values, dict):
            raise InputError(path, "a config must be a mapping of sections")
    try:
        return TrainConfig.from_dict(apply_overrides(values, overrides))
    except ValueError as exc:
        raise InputError(where, str(exc)) from None
