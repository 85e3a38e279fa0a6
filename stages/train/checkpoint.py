"""Checkpoints holding the whole training state, loadable with ``weights_only=True``.

A checkpoint is a dict of tensors and plain values: ``model``, ``optimizer`` (state dicts),
``epoch`` (epochs completed), ``batch`` (batches of the current epoch completed, for a
mid-epoch stop), ``step`` (optimiser steps, which fixes the learning rate), ``rng`` (torch CPU
and CUDA generator states), ``best`` (the best selection value so far), ``config`` (the
:class:`TrainConfig` dict), ``dataset`` (the dataset file's provenance JSON) and
``format`` (:data:`FORMAT`).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from stages.errors import InputError
from stages.io.artifacts import atomic_output

FORMAT = "stenosis-checkpoint-1"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` atomically (plus the format tag)."""
    with atomic_output(path) as tmp:
        torch.save({**state, "format": FORMAT}, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint without running any code it may carry (``weights_only=True``).
    Raises :class:`InputError` naming the file when it is missing, not a checkpoint, or holds
    anything but tensors and plain values."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "checkpoint does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsafe content"
        raise InputError(path, f"refused: the checkpoint holds more than weights and plain values ({first})") from None
    except Exception as exc:  # torch.load fails on foreign bytes with many exception types
        raise InputError(path, f"not a readable checkpoint: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(path, f"not a stenosis checkpoint (expected format {FORMAT})")
    return state
