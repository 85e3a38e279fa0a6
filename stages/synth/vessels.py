"""Coronary-like vessels over the phantom heart: tortuous curves in the epicardial fat, tapering
radii, side branches, and where along each vessel a stenosis may sit.

A vessel is a smooth curve sampled every DENSE_STEP_MM of arc length (world mm, LPS) with a
healthy lumen radius per sample. Paths are walked over the epicardium grown by the vessel's
height above the myocardium, steered towards a target by a smooth random curvature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline
from scipy.spatial import cKDTree

from stages.synth.heart import Heart
from stages.synth.lesions import HEALTHY_GAP_MM, MIN_LESION_RADIUS_MM, Lesion

DENSE_STEP_MM = 0.1
"""Arc-length step of a vessel's dense samples."""

_WALK_STEP_MM = 0.5
_MAX_CURVATURE = 0.15  # 1/mm: tightest bend, a radius of curvature of ~7 mm
_BRANCH_CLEARANCE_MM = 10.0  # lesion-free parent vessel either side of a branch point
_BRANCH_ORIGIN_MM = 14.0  # lesion-free start of a side branch, where it still touches its parent
_SEPARATION_MM = 2.5  # least fat between the walls of two vessels (outside a branch point)


@dataclass(frozen=True)
class Template:
    """How a vessel runs: ``start`` and ``target`` directions in the heart frame (unnormalised;
    for a branch, ``start`` is unused and ``parent`` names the vessel it leaves at
    ``branch_mm`` (range) along it, turning ``branch_angle`` (range, rad) towards the target);
    ``length_mm`` and proximal ``radius_mm`` ranges."""

    start: tuple[float, float, float]
    target: tuple[float, float, float]
    length_mm: tuple[float, float]
    radius_mm: tuple[float, float]
    parent: str | None = None
    branch_mm: tuple[float, float] = (0.0, 0.0)
    branch_angle: tuple[float, float] = (0.0, 0.0)


TEMPLATES: dict[str, Template] = {
    # Anterior interventricular groove, from the base over the apex.
    "LAD": Template((-0.15, 0.75, -0.65), (0.15, 0.25, 1.0), (95.0, 120.0), (1.65, 2.0)),
    # Left atrioventricular groove, round the left side towards the back.
    "LCX": Template((0.30, 0.60, -0.75), (0.55, -0.75, -0.45), (65.0, 95.0), (1.55, 1.85)),
    # Right atrioventricular groove, round the right side towards the back.
    "RCA": Template((-0.55, 0.55, -0.65), (-0.35, -0.80, -0.50), (85.0, 120.0), (1.65, 2.0)),
    # Side branches over the left ventricle towards the apex.
    "D1": Template((0, 0, 0), (0.85, 0.35, 0.45), (60.0, 85.0), (1.5, 1.75), "LAD", (18.0, 32.0), (0.6, 0.95)),
    "OM1": Template((0, 0, 0), (0.85, -0.25, 0.50), (60.0, 85.0), (1.5, 1.75), "LCX", (20.0, 35.0), (0.6, 0.95)),
}

VESSEL_SETS: dict[int, tuple[tuple[str, ...], ...]] = {
    2: (("LAD", "RCA"), ("LAD", "LCX")),
    3: (("LAD", "LCX", "RCA"), ("LAD", "D1", "RCA"), ("LAD", "LCX", "OM1")),
    4: (("LAD", "D1", "LCX", "RCA"), ("LAD", "LCX", "OM1", "RCA"), ("LAD", "D1", "LCX", "OM1")),
}
"""The vessels a case may hold, by count; parents always precede their branches."""


@dataclass(frozen=True)
class Vessel:
    """One vessel, densely sampled: ``arclength`` ``[N]`` mm from the proximal end,
    ``points``, ``tangent``, ``normal`` ``[N, 3]`` (world mm; unit vectors, ``normal`` the
    heart's outward normal made orthogonal to the tangent), ``radius`` ``[N]`` healthy lumen
    radius mm. ``parent``/``branch_mm``: the vessel this one leaves and where along it (None
    for a main vessel); ``lesions`` sorted along the vessel."""

    name: str
    arclength: NDArray[np.float64]
    points: NDArray[np.float64]
    tangent: NDArray[np.float64]
    normal: NDArray[np.float64]
    radius: NDArray[np.float64]
    parent: str | None = None
    branch_mm: float | None = None
    lesions: tuple[Lesion, ...] = field(default=())

    @property
    def length_mm(self) -> float:
        """Arc length of the vessel in mm."""
        return float(self.arclength[-1])

    def at(self, s: float) -> int:
        """Index of the dense sample nearest arc length ``s`` mm."""
        return int(np.clip(np.searchsorted(self.arclength, s), 0, len(self.arclength) - 1))


def draw_vessels(rng: np.random.Generator, heart: Heart, tortuosity: float) -> list[Vessel]:
    """Draw the 2-4 vessels of a case over ``heart`` (no lesions yet), each kept clear of the
    others by at least _SEPARATION_MM of fat. ``tortuosity`` scales the random curvature
    (about 0.5 gentle .. 1.5 tortuous). A vessel that cannot be placed clear after a few
    tries is left out."""
    names = VESSEL_SETS[int(rng.integers(2, 5))]
    chosen = names[int(rng.integers(len(names)))]
    vessels: dict[str, Vessel] = {}
    for name in chosen:
        template = TEMPLATES[name]
        if template.parent is not None and template.parent not in vessels:
            continue
        for _ in range(8):
            vessel = _draw_vessel(rng, heart, name, template, vessels, tortuosity)
            if all(_clear(vessel, other) for other in vessels.values()):
                vessels[name] = vessel
                break
    return list(vessels.values())


def _draw_vessel(
    rng: np.random.Generator, heart: Heart, name: str, template: Template,
    placed: dict[str, Vessel], tortuosity: float,
) -> Vessel:
    """One vessel following ``template``."""
    radius0 = rng.uniform(*template.radius_mm)
    height = radius0 + rng.uniform(0.4, 1.0)  # vessel centre above the myocardium, mm
    length = rng.uniform(*template.length_mm)
    target = heart.project(_unit(template.target), height)
    if template.parent is None:
        start = heart.project(_unit(template.start) + rng.normal(0.0, 0.03, 3), height)
        heading = _tangential(target - start, heart.normal(start))
        branch_mm = None
    else:
        parent = placed[template.parent]
        branch_mm = float(rng.uniform(*template.branch_mm))
        k = parent.at(branch_mm)
        start = heart.project(heart.to_local(parent.points[k]), height)
        along = parent.tangent[k] @ heart.axes
        up = heart.normal(start)
        turn = rng.uniform(*template.branch_angle) * np.sign(_turn_angle(along, target - start, up))
        heading = _rotate(_tangential(along, up), up, turn)
    path = _walk(rng, heart, start, heading, target, length, height, tortuosity)
    return _densify(name, heart, path, radius0, rng.uniform(0.55, 0.7), template.parent, branch_mm)


def _walk(
    rng: np.random.Generator, heart: Heart, start: NDArray[np.float64], heading: NDArray[np.float64],
    target: NDArray[np.float64], length: float, height: float, tortuosity: float,
) -> NDArray[np.float64]:
    """``[M, 3]`` local points every _WALK_STEP_MM over the epicardium grown by ``height``:
    curvature = a sum of three sinusoids of random wavelength (12-40 mm) and phase, plus a
    pull towards ``target`` while it is more than 15 mm away."""
    wavelength = rng.uniform(12.0, 40.0, 3)
    amplitude = rng.uniform(0.015, 0.05, 3) * tortuosity
    phase = rng.uniform(0.0, 2 * np.pi, 3)
    p, h = start, heading
    points = [p]
    for i in range(1, int(np.ceil(length / _WALK_STEP_MM)) + 1):
        s = i * _WALK_STEP_MM
        up = heart.normal(p)
        kappa = float(np.sum(amplitude * np.sin(2 * np.pi * s / wavelength + phase)))
        if np.linalg.norm(target - p) > 15.0:
            kappa += float(np.clip(0.08 * _turn_angle(h, target - p, up), -0.06, 0.06))
        h = _rotate(h, up, np.clip(kappa, -_MAX_CURVATURE, _MAX_CURVATURE) * _WALK_STEP_MM)
        q = heart.project(p + _WALK_STEP_MM * h, height)
        h = _tangential(q - p, heart.normal(q))
        p = q
        points.append(p)
    return np.array(points)


def _densify(
    name: str, heart: Heart, path: NDArray[np.float64], radius0: float, distal_ratio: float,
    parent: str | None, branch_mm: float | None,
) -> Vessel:
    """Fit a cubic spline through the walked local ``path`` ``[M, 3]`` and sample it every
    DENSE_STEP_MM; the radius tapers linearly from ``radius0`` to ``distal_ratio * radius0``."""
    chord = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    spline = CubicSpline(chord, path, axis=0)
    t = np.arange(0.0, chord[-1], DENSE_STEP_MM)
    local = spline(t)
    tangent = spline(t, 1)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = _tangential(heart.normal(local), tangent)
    arclength = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(local, axis=0), axis=1))])
    radius = radius0 * (1.0 - (1.0 - distal_ratio) * arclength / arclength[-1])
    return Vessel(
        name=name,
        arclength=arclength,
        points=heart.to_world(local),
        tangent=tangent @ heart.axes.T,
        normal=normal @ heart.axes.T,
        radius=radius,
        parent=parent,
        branch_mm=branch_mm,
    )


def _clear(a: Vessel, b: Vessel) -> bool:
    """True when the walls of ``a`` and ``b`` (with room for plaque) keep _SEPARATION_MM
    apart, ignoring a branch's first _BRANCH_ORIGIN_MM where it leaves its parent."""
    if a.parent == b.name:
        a = _trim_origin(a)
    elif b.parent == a.name:
        b = _trim_origin(b)
    distance, j = cKDTree(b.points).query(a.points)
    return bool(np.all(distance >= a.radius + b.radius[j] + 2.0 + _SEPARATION_MM))


def _trim_origin(vessel: Vessel) -> Vessel:
    """``vessel`` without its first _BRANCH_ORIGIN_MM."""
    keep = vessel.arclength >= _BRANCH_ORIGIN_MM
    return replace(vessel, arclength=vessel.arclength[keep], points=vessel.points[keep],
                   tangent=vessel.tangent[keep], normal=vessel.normal[keep], radius=vessel.radius[keep])


def lesion_room(vessel: Vessel, branches: Sequence[Vessel]) -> list[tuple[float, float]]:
    """Arc-length intervals (mm) of ``vessel`` where a lesion's support may lie: HEALTHY_GAP_MM
    from both ends, where the healthy radius is at least MIN_LESION_RADIUS_MM, beyond a
    branch's origin, and _BRANCH_CLEARANCE_MM clear of each of ``branches`` (its children)."""
    start = _BRANCH_ORIGIN_MM if vessel.parent is not None else HEALTHY_GAP_MM
    thick = vessel.arclength[vessel.radius >= MIN_LESION_RADIUS_MM]
    end = min(vessel.length_mm - HEALTHY_GAP_MM, float(thick[-1]) if len(thick) else 0.0)
    room = [(start, end)] if end > start else []
    for branch in branches:
        lo, hi = branch.branch_mm - _BRANCH_CLEARANCE_MM, branch.branch_mm + _BRANCH_CLEARANCE_MM
        room = [piece for a, b in room for piece in ((a, min(b, lo)), (max(a, hi), b)) if piece[1] > piece[0]]
    return room


def _unit(v: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _tangential(v: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit vectors ``[..., 3]``: ``v`` with its component along unit ``n`` removed."""
    return _unit(v - np.sum(v * n, axis=-1, keepdims=True) * n)


def _rotate(v: NDArray[np.float64], axis: NDArray[np.float64], angle: float) -> NDArray[np.float64]:
    """``v`` ``[3]`` rotated by ``angle`` rad about unit ``axis`` (Rodrigues)."""
    return v * np.cos(angle) + np.cross(axis, v) * np.sin(angle) + axis * (axis @ v) * (1 - np.cos(angle))


def _turn_angle(heading: NDArray[np.float64], towards: NDArray[np.float64], up: NDArray[np.float64]) -> float:
    """Signed angle (rad) about ``up`` from ``heading`` to ``towards`` projected on the
    tangent plane."""
    t = _tangential(towards, up)
    return float(np.arctan2(np.cross(heading, t) @ up, heading @ t))
