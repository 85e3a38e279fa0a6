"""Grad-CAM (Selvaraju et al. 2017) on the last layer of each backbone of a CFR model.

For each backbone the model has, the activations ``A`` ``[B, C, *S]`` of its last layer (the
1x1x1 ``head`` convolution as the backbone returns it: cropped to the input, zero on padded
slices) are weighted by the gradient of a class score averaged over the volume,
``alpha_c = mean_S dscore/dA_c``; the map is ``ReLU(sum_c alpha_c A_c)`` ``[B, *S]``, divided by
its maximum per instance so it lies in ``[0, 1]`` with maximum 1 (all zero when nothing in
the volume speaks for the class). ``S`` is the backbone's input grid: ``[D, H, W]`` of the
SCPR, ``[Dc, Hc, Wc]`` of the CCTA patch.

The class score of a target grade ``g`` depends on the loss head:

- five outputs (``cr``, ``ad``, ``sd``, ``ce``, ``cost``): the logit of grade ``g``;
- ``ordinal`` (four logits ``z_k`` of "grade > k+1"): the log-odds evidence for the code of
  ``g``, ``sum_k s_k z_k`` with ``s_k = +1`` where ``g > k+1`` and ``-1`` elsewhere;
- ``regression`` (one output ``y``): ``y`` when ``g`` is at or above the predicted grade
  (evidence for a more severe grade, the default target), ``-y`` when below (evidence for a
  milder one).

The model is left as it was: hooks are removed, parameters get no ``.grad`` (gradients are
taken with respect to the activations only) and the train/eval mode is restored. The
backbones run without recording an autograd graph (the gradient stops at their outputs),
which makes the Grad-CAM forward pass as cheap as a plain one there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from stages.grades import N_GRADES
from stages.model.cfr import CFRModel
from stages.train.losses import Head, OrdinalHead, RegressionHead

BACKBONES = ("scpr", "ccta")


def backbones_of(model: CFRModel) -> tuple[str, ...]:
    """The backbones ``model`` has, of :data:`BACKBONES` (an ablation model has one)."""
    return tuple(name for name in BACKBONES if getattr(model, f"{name}_backbone") is not None)


def check_target(target: int | None) -> None:
    """ValueError unless ``target`` is None (the prediction) or a grade 1..5."""
    if target is not None and not 1 <= target <= N_GRADES:
        raise ValueError(f"target grade must lie in 1..{N_GRADES}, got {target}")


def class_score(head: Head, outputs: Tensor, target: Tensor) -> Tensor:
    """``[B]`` score of grades ``target`` ``[B]`` (1..5) from model ``outputs``
    ``[B, n_outputs]``, per head as the module doc says."""
    if isinstance(head, RegressionHead):
        sign = torch.where(target >= head.decode(outputs), 1.0, -1.0).to(outputs.dtype)
        return sign * outputs[:, 0]
    if isinstance(head, OrdinalHead):
        return ((2 * OrdinalHead.encode(target) - 1).to(outputs.dtype) * outputs).sum(dim=-1)
    return outputs.gather(1, (target.long() - 1)[:, None])[:, 0]


@dataclass(frozen=True)
class CamResult:
    """Grad-CAM of one batch: ``maps`` backbone name -> ``[B, *S]`` in ``[0, 1]`` (see the
    module doc), the model ``outputs`` ``[B, n_outputs]``, the head's predicted grades ``pred``
    ``[B]`` and the explained grades ``target`` ``[B]`` (1..5)."""

    maps: dict[str, Tensor]
    outputs: Tensor
    pred: Tensor
    target: Tensor


def peak_normalise(maps: Tensor) -> Tensor:
    """Non-negative ``maps`` ``[B, ...]`` divided by each one's maximum (an all-zero map stays
    zero)."""
    peak = maps.flatten(1).amax(dim=1).clamp(min=torch.finfo(maps.dtype).tiny)
    return maps / peak.view(-1, *(1,) * (maps.ndim - 1))


def _cam(activations: Tensor, gradients: Tensor) -> Tensor:
    """``[B, *S]`` normalised ``ReLU(sum_c alpha_c A_c)`` from ``[B, C, *S]`` activations and
    their gradients."""
    weights = gradients.mean(dim=tuple(range(2, activations.ndim)), keepdim=True)
    return peak_normalise(torch.relu((weights * activations).sum(dim=1)))


def grad_cam(model: CFRModel, head: Head, batch: Mapping[str, Tensor], target: int | None = None) -> CamResult:
    """Grad-CAM maps of every backbone of ``model`` for ``batch`` (the dict of
    :mod:`stages.model.cfr`, on the model's device), explaining grade ``target`` (1..5) or,
    when None, each instance's predicted grade. Runs the model in eval mode."""
    check_target(target)
    activations: dict[str, Tensor] = {}

    def no_graph(module: torch.nn.Module, args: tuple) -> None:
        torch.set_grad_enabled(False)  # the gradient stops at the backbone's output: no graph inside

    def keep(name: str):
        def hook(module: torch.nn.Module, args: tuple, output: Tensor) -> Tensor:
            torch.set_grad_enabled(True)
            activations[name] = output.detach().requires_grad_(True)  # a leaf in place of the output
            return activations[name]
        return hook

    names = backbones_of(model)
    backbones = [getattr(model, f"{name}_backbone") for name in names]
    handles = [b.register_forward_pre_hook(no_graph) for b in backbones]
    handles += [b.register_forward_hook(keep(name)) for b, name in zip(backbones, names)]
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            outputs = model(batch)
            pred = head.decode(outputs.detach())
            wanted = pred if target is None else torch.full_like(pred, target)
            score = class_score(head, outputs, wanted)
            gradients = torch.autograd.grad(score.sum(), [activations[name] for name in names])
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    maps = {name: _cam(activations[name].detach(), grad) for name, grad in zip(names, gradients)}
    return CamResult(maps=maps, outputs=outputs.detach(), pred=pred, target=wanted)
