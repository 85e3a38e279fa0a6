"""Process-group set-up for ``torchrun`` and the few collective operations training needs.

Single-process runs need no set-up: every function then acts on the one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    """``rank`` and ``world`` size of this process, its ``device``, and whether it writes."""

    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when present, else CPU; or any torch device string."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device '{name}' requested but CUDA is not available")
    return device


def setup(device: str = "auto") -> Context:
    """Join the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1): NCCL on
    GPUs (one per ``LOCAL_RANK``), gloo on CPU. Otherwise a single-process context."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    target = resolve_device(device)
    if world == 1:
        return Context(0, 1, target)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if target.type == "cuda":
        torch.cuda.set_device(local)
        target = torch.device("cuda", local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if target.type == "cuda" else "gloo")
    return Context(dist.get_rank(), dist.get_world_size(), target)


def teardown(context: Context) -> None:
    """Leave the process group, if any."""
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def gather(context: Context, value: Any) -> list[Any]:
    """Every rank's ``value`` (picklable), in rank order, on every rank."""
    if not context.distributed:
        return [value]
    out: list[Any] = [None] * context.world
    dist.all_gather_object(out, value)
    return out


def broadcast(context: Context, value: Any) -> Any:
    """Rank 0's ``value`` on every rank."""
    if not context.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def any_rank(context: Context, flag: bool) -> bool:
    """True on every rank when ``flag`` is True on any rank (so all ranks stop at one step)."""
    if not context.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=context.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)
