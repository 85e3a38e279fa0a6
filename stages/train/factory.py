"""Model and loss head built from a training config, and rebuilt from a checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from stages.errors import InputError
from stages.model.cfr import CFRModel
from stages.train.checkpoint import load_checkpoint
from stages.train.config import TrainConfig
from stages.train.losses import Head, make_head


def build(config: TrainConfig) -> tuple[CFRModel, Head]:
    """A freshly initialised model (outputs sized for the loss head) and its head."""
    head = make_head(config.loss.name, class_weights=config.loss.class_weights, cost_lambda=config.loss.cost_lambda)
    return CFRModel(config.model, head.n_outputs), head


def restore(path: str | Path, device: torch.device) -> tuple[CFRModel, Head, TrainConfig, dict]:
    """The model of a checkpoint with its weights, in eval mode on ``device``, its head,
    config and the whole checkpoint dict. Raises :class:`InputError` when the stored config
    is invalid or does not match the stored weights."""
    state = load_checkpoint(path, map_location=device)
    try:
        config = TrainConfig.from_dict(state["config"])
    except (KeyError, ValueError) as exc:
        raise InputError(path, f"checkpoint config is not valid: {exc}") from None
    model, head = build(config)
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as exc:
        first = " ".join(str(exc).split())[:300]
        raise InputError(path, f"checkpoint weights do not match its config: {first}") from None
    return model.to(device).eval(), head, config, state
