"""Losses of the paper and its comparisons, each paired with how its outputs decode to a grade.

A :class:`Head` fixes the number of model outputs, the loss against integer grades ``[B]``
(1..5) and the decoding of outputs ``[B, n_outputs]`` to grades ``[B]`` (1..5) and to
probabilities ``[B, 5]`` over grades 1..5.

- ``cr``: the Clinical Risk-aware loss: soft targets ``softmax(-CRD(gt, i))`` and
  cross-entropy weighted per instance by the class weight of its ground truth.
- ``ad`` / ``sd``: the same with ``|a-b|`` / ``(a-b)^2`` in place of CRD (SORD soft labels).
- ``ce``: hard-label multi-class cross-entropy.
- ``cost``: cost-sensitive classification (Galdran et al. 2020): cross-entropy plus
  ``lambda * sum_i M[gt, i] * p_i`` with ``M[a, b] = (a-b)^2 / max``.
- ``regression``: one output, squared error to the grade, decoded by rounding and clipping.
- ``ordinal``: K-rank ordinal regression (Niu et al. 2016): 4 binary tasks "grade > k",
  grade k encoded as k-1 ones then zeros, decoded as 1 + the count of probabilities > 0.5.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from stages.grades import N_GRADES, absolute_distance, crd, distance_matrix

DEFAULT_CLASS_WEIGHTS = (1.0, 1.0, 2.0, 3.0, 4.0)
DISTANCES: dict[str, Callable] = {
    "crd": crd,
    "ad": absolute_distance,
    "sd": lambda a, b: absolute_distance(a, b) ** 2,
}


def soft_targets(distance: str | Callable = "crd") -> Tensor:
    """``[5, 5]`` soft targets: row ``g`` = ``softmax_i(-distance(g, i))`` over grades 1..5."""
    fn = DISTANCES[distance] if isinstance(distance, str) else distance
    return torch.softmax(-torch.as_tensor(distance_matrix(fn), dtype=torch.float64), dim=1).float()


def _index(grades: Tensor) -> Tensor:
    """Grades 1..5 ``[B]`` as class indices 0..4."""
    if grades.numel() and (grades.min() < 1 or grades.max() > N_GRADES):
        raise ValueError(f"grades must lie in 1..5, got {grades.min().item()}..{grades.max().item()}")
    return grades.long() - 1


class Head(ABC):
    """Outputs -> loss, grade and probabilities, for one training objective."""

    n_outputs = N_GRADES

    @abstractmethod
    def loss(self, outputs: Tensor, grades: Tensor) -> Tensor:
        """Scalar loss over a batch: ``outputs`` ``[B, n_outputs]``, ``grades`` ``[B]`` in 1..5."""

    def probabilities(self, outputs: Tensor) -> Tensor:
        """``[B, 5]`` probabilities of grades 1..5 (rows sum to 1)."""
        return torch.softmax(outputs.float(), dim=-1)

    def decode(self, outputs: Tensor) -> Tensor:
        """``[B]`` predicted grades 1..5."""
        return self.probabilities(outputs).argmax(dim=-1) + 1


class SoftLabelHead(Head):
    """Cross-entropy against soft targets ``softmax(-distance(gt, i))``, each instance weighted
    by the class weight of its ground truth, averaged over the batch (CR loss with ``crd``)."""

    def __init__(self, distance: str = "crd", class_weights: Sequence[float] = DEFAULT_CLASS_WEIGHTS) -> None:
        if isinstance(distance, str) and distance not in DISTANCES:
            raise ValueError(f"distance must be one of {sorted(DISTANCES)}, got '{distance}'")
        if len(class_weights) != N_GRADES or any(w < 0 for w in class_weights):
            raise ValueError(f"class_weights must be 5 non-negative numbers, got {list(class_weights)}")
        self.targets = soft_targets(distance)
        self.class_weights = torch.tensor(class_weights, dtype=torch.float32)

    def loss(self, outputs: Tensor, grades: Tensor) -> Tensor:
        k = _index(grades)
        log_p = torch.log_softmax(outputs.float(), dim=-1)
        targets = self.targets.to(outputs.device)[k]
        weights = self.class_weights.to(outputs.device)[k]
        return -(weights * (targets * log_p).sum(dim=-1)).mean()


class CrossEntropyHead(Head):
    """Hard-label multi-class cross-entropy."""

    def loss(self, outputs: Tensor, grades: Tensor) -> Tensor:
        return F.cross_entropy(outputs.float(), _index(grades))


class CostSensitiveHead(Head):
    """Cross-entropy plus ``lam`` times the expected cost ``sum_i M[gt, i] p_i`` under
    ``M[a, b] = (a-b)^2 / max`` (Galdran et al. 2020)."""

    def __init__(self, lam: float = 10.0) -> None:
        if lam < 0:
            raise ValueError(f"lam must be >= 0, got {lam}")
        squared = distance_matrix(lambda a, b: absolute_distance(a, b) ** 2).astype(np.float32)
        self.cost = torch.from_numpy(squared / squared.max())
        self.lam = lam

    def loss(self, outputs: Tensor, grades: Tensor) -> Tensor:
        k = _index(grades)
        expected_cost = (self.cost.to(outputs.device)[k] * torch.softmax(outputs.float(), dim=-1)).sum(dim=-1)
        return F.cross_entropy(outputs.float(), k) + self.lam * expected_cost.mean()


class RegressionHead(Head):
    """One output regressing the grade (squared error), decoded by rounding half up and
    clipping to 1..5; its probabilities are one-hot on the decoded grade."""

    n_outputs = 1

    def loss(self, outputs: Tensor, grades: Tensor) -> Tensor:
        _index(grades)
        return F.mse_loss(outputs.float().squeeze(-1), grades.float())

    def decode(self, outputs: Tensor) -> Tensor:
        return torch.floor(outputs.float().squeeze(-1) + 0.5).clamp(1, N_GRADES).long()

    def probabilities(self, outputs: Tensor) -> Tensor:
        return F.one_hot(self.decode(outputs) - 1, N_GRADES).float()


class OrdinalHead(Head):
    """K-rank ordinal regression: output ``k`` is the logit of "grade > k+1" (``k`` = 0..3)."""

    n_outputs = N_GRADES - 1

    @staticmethod
    def encode(grades: Tensor) -> Tensor:
        """``[B, 4]`` binary targets: grade g -> g-1 ones then zeros."""
        return (grades.long()[:, None] > torch.arange(1, N_GRADES, device=grades.device)[None, :]).float()

    def loss(self, outputs: Tensor, grades: Tensor) -> Tensor:
        _index(grades)
        return F.binary_cross_entropy_with_logits(outputs.float(), self.encode(grades))

    def decode(self, outputs: Tensor) -> Tensor:
        return 1 + (torch.sigmoid(outputs.float()) > 0.5).sum(dim=-1)

    def probabilities(self, outputs: Tensor) -> Tensor:
        """P(grade = k) from the cumulative "grade > k" probabilities made monotone."""
        above = torch.sigmoid(outputs.float()).flip(-1).cummax(-1).values.flip(-1)
        ones, zeros = torch.ones_like(above[:, :1]), torch.zeros_like(above[:, :1])
        cumulative = torch.cat([ones, above, zeros], dim=-1)
        probs = cumulative[:, :-1] - cumulative[:, 1:]
        return probs / probs.sum(dim=-1, keepdim=True)


HEADS = ("cr", "ad", "sd", "ce", "cost", "regression", "ordinal")


def make_head(name: str, *, class_weights: Sequence[float] = DEFAULT_CLASS_WEIGHTS, cost_lambda: float = 10.0) -> Head:
    """The head named ``name`` (one of :data:`HEADS`)."""
    if name in ("cr", "ad", "sd"):
        return SoftLabelHead({"cr": "crd", "ad": "ad", "sd": "sd"}[name], class_weights)
    if name == "ce":
        return CrossEntropyHead()
    if name == "cost":
        return CostSensitiveHead(cost_lambda)
    if name == "regression":
        return RegressionHead()
    if name == "ordinal":
        return OrdinalHead()
    raise ValueError(f"loss must be one of {', '.join(HEADS)}, got '{name}'")
