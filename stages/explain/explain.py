"""Grad-CAM of chosen dataset instances, every map in SCPR space.

For each instance the SCPR backbone's map is already on the SCPR grid ``[D, H, W]``; the CCTA
backbone's map ``[Dc, Hc, Wc]`` is carried onto it by :func:`~stages.explain.resample.patch_to_scpr`
and renormalised to maximum 1 over the SCPR grid (the patch map may peak off the grid); the
combined map is their mean (as the paper does), renormalised to maximum 1. Maps are zero on
padded slices (``mask`` False), where no vessel was sampled.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
from numpy.typing import NDArray

from stages.dataset.loader import InstanceDataset, collate
from stages.dataset.store import read_geometry_of, read_index
from stages.errors import InputError
from stages.explain.gradcam import backbones_of, grad_cam, peak_normalise
from stages.explain.resample import patch_to_scpr
from stages.grades import crd
from stages.model.cfr import CFRModel
from stages.train.losses import Head

MAPS = ("scpr", "ccta", "combined")
"""The maps gradcam can draw: each backbone's alone, and their mean."""
_NEEDS = {"scpr": {"scpr"}, "ccta": {"ccta"}, "combined": {"scpr", "ccta"}}
SPLITS = ("train", "val", "test", "all")


def maps_of(model: CFRModel) -> tuple[str, ...]:
    """The maps of :data:`MAPS` that ``model``'s backbones give."""
    have = set(backbones_of(model))
    return tuple(name for name in MAPS if _NEEDS[name] <= have)


def check_maps(requested: Sequence[str], model: CFRModel, checkpoint: str | Path) -> tuple[str, ...]:
    """``requested`` in :data:`MAPS` order; :class:`InputError` naming the checkpoint when the
    model lacks a backbone a map needs (saying which maps it has), ValueError for unknown names."""
    unknown = [name for name in requested if name not in MAPS]
    if unknown or not requested:
        raise ValueError(f"maps must be among {', '.join(MAPS)}, got {', '.join(requested) or 'none'}")
    missing = [name for name in MAPS if name in requested and name not in maps_of(model)]
    if missing:
        absent = sorted(set().union(*(_NEEDS[name] for name in missing)) - set(backbones_of(model)))
        raise InputError(
            checkpoint,
            f"the model (modality '{model.config.modality}') has no {' or '.join(b.upper() for b in absent)} backbone, "
            f"so there is no {', '.join(repr(m) for m in missing)} map; maps it has: {', '.join(maps_of(model))}",
        )
    return tuple(name for name in MAPS if name in requested)


def check_instances(dataset: str | Path, instance_ids: Sequence[str]) -> list[str]:
    """``instance_ids`` without repeats (first-seen order); :class:`InputError` naming the
    dataset file when none is given, one is not in it, or its SCPR cross-section is not square."""
    known = set(read_index(dataset).instance_id.tolist())
    ids = list(dict.fromkeys(instance_ids))
    if not ids:
        raise InputError(dataset, "no instance chosen")
    unknown = [i for i in ids if i not in known]
    if unknown:
        example = ", ".join(sorted(known)[:3])
        raise InputError(dataset, f"no instance {', '.join(repr(i) for i in unknown)} (it holds {len(known)}, e.g. {example})")
    with h5py.File(dataset, "r") as h5:
        for instance_id in ids:
            _, h, w = h5["instances"][instance_id]["scpr"].shape
            if h != w:
                raise InputError(dataset, f"instance {instance_id}: SCPR cross-section {h}x{w} is not square")
    return ids


def random_instances(dataset: str | Path, n: int, split: str = "test", seed: int = 0) -> list[str]:
    """``n`` instance ids drawn without replacement from ``split`` (``all``: every instance)
    with ``seed``, in the file's index order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got '{split}'")
    index = read_index(dataset)
    pool = index.instance_id if split == "all" else index.instance_id[index.split == split]
    if not 1 <= n <= pool.size:
        raise InputError(dataset, f"cannot draw {n} instance(s) from split '{split}', which holds {pool.size}")
    chosen = np.sort(np.random.default_rng(seed).choice(pool.size, size=n, replace=False))
    return [str(i) for i in pool[chosen]]


@dataclass(frozen=True)
class Explanation:
    """The Grad-CAM of one instance.

    ``scpr`` int16 ``[D, H, W]`` HU and ``mask`` ``[D]`` as stored; ``core_start``..``core_end``
    the instance core (inclusive slices); ``step`` mm between slices and ``pixel`` mm across;
    ``grade`` the truth (0 unknown), ``pred`` the prediction and ``target`` the explained
    grade; ``maps`` name -> float32 ``[D, H, W]`` in ``[0, 1]`` in SCPR space (the names asked
    for, of :data:`MAPS`); ``ccta_patch`` the CCTA backbone's map on the patch grid
    ``[Dc, Hc, Wc]`` when that backbone was asked for, else None.
    """

    instance_id: str
    grade: int
    pred: int
    target: int
    scpr: NDArray[np.int16]
    mask: NDArray[np.bool_]
    core_start: int
    core_end: int
    step: float
    pixel: float
    maps: dict[str, NDArray[np.float32]]
    ccta_patch: NDArray[np.float32] | None

    @property
    def ae(self) -> int | None:
        """Absolute error ``|grade - pred|``, None without ground truth."""
        return abs(self.grade - self.pred) if self.grade else None

    @property
    def cre(self) -> int | None:
        """Clinical risk error ``CRD(grade, pred)``, None without ground truth."""
        return int(crd(self.grade, self.pred)) if self.grade else None


def _peak_normalised(volume: NDArray[np.float32]) -> NDArray[np.float32]:
    """``volume`` divided by its maximum (see :func:`~stages.explain.gradcam.peak_normalise`)."""
    return peak_normalise(torch.from_numpy(volume)[None])[0].numpy()


def _slice_step(points: NDArray[np.float64], mask: NDArray[np.bool_], fallback: float) -> float:
    """Median distance (mm) between consecutive valid centerline points; ``fallback`` when
    fewer than two are valid."""
    gaps = np.linalg.norm(np.diff(points[mask], axis=0), axis=1)
    return float(np.median(gaps)) if gaps.size else fallback


def _maps_in_scpr(cams: dict[str, NDArray[np.float32]], group: h5py.Group) -> dict[str, NDArray[np.float32]]:
    """Every map of the backbone maps ``cams`` (``scpr`` ``[D, H, W]``, ``ccta`` on the patch)
    in SCPR space, for the instance stored in ``group`` (see the module doc)."""
    in_scpr = {name: cam for name, cam in cams.items() if name == "scpr"}
    if "ccta" in cams:
        mask = group["mask"][()]
        carried = patch_to_scpr(cams["ccta"], read_geometry_of(group), group["points"][()], group["normal"][()],
                                group["binormal"][()], float(group.attrs["scpr_pixel"]), group["scpr"].shape[1])
        in_scpr["ccta"] = _peak_normalised(carried * mask[:, None, None])
    if len(in_scpr) == 2:
        in_scpr["combined"] = _peak_normalised((in_scpr["scpr"] + in_scpr["ccta"]) / 2)
    return in_scpr


def explain_instances(
    model: CFRModel, head: Head, dataset: str | Path, instance_ids: Sequence[str],
    maps: Sequence[str] = MAPS, target: int | None = None,
) -> Iterator[Explanation]:
    """The :class:`Explanation` of each of ``instance_ids`` (checked by
    :func:`check_instances`), one instance per forward pass on the model's device, with the
    ``maps`` the model has (see :func:`check_maps`), explaining ``target`` or each predicted
    grade."""
    device = next(model.parameters()).device
    data = InstanceDataset(dataset)
    rows = {instance_id: k for k, instance_id in enumerate(data.instance_ids())}
    with h5py.File(dataset, "r") as h5:
        for instance_id in instance_ids:
            batch = data.to_device(collate([data[rows[instance_id]]]), device)
            result = grad_cam(model, head, batch, target)
            group = h5["instances"][instance_id]
            cams = {name: cam[0].cpu().numpy() for name, cam in result.maps.items()}
            in_scpr = _maps_in_scpr(cams, group)
            mask, pixel = group["mask"][()], float(group.attrs["scpr_pixel"])
            yield Explanation(
                instance_id=instance_id, grade=int(group.attrs["grade"]), pred=int(result.pred[0]),
                target=int(result.target[0]), scpr=group["scpr"][()], mask=mask,
                core_start=int(group.attrs["core_start"]), core_end=int(group.attrs["core_end"]),
                step=_slice_step(group["points"][()], mask, pixel), pixel=pixel,
                maps={name: in_scpr[name] for name in maps}, ccta_patch=cams["ccta"] if "ccta" in maps else None,
            )
