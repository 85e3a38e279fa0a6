"""Learning-rate schedule: linear warm-up, then cosine decay to zero."""

from __future__ import annotations

import math


def learning_rate(step: int, *, base_lr: float, warmup_steps: int, total_steps: int) -> float:
    """The learning rate at optimiser ``step`` (0-based): ``base_lr * (step+1)/warmup_steps``
    during warm-up, then ``base_lr * (1 + cos(pi * progress)) / 2`` over the remaining steps."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    remaining = max(total_steps - warmup_steps, 1)
    progress = min((step - warmup_steps) / remaining, 1.0)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
