"""The SCPR stage: straightened curved planar reformation (3D SCPR) of each vessel.

Centerline smoothing and uniform resampling (:mod:`.centerline`), cross-section frames
(:mod:`.frames`), plane sampling in world coordinates (:mod:`.sampling`), per-case and
per-manifest extraction to the scpr HDF5 of DESIGN.md (:mod:`.extract`) and longitudinal PNG
views (:mod:`.views`).
"""

from stages.scpr.centerline import ResampledCenterline, resample_centerline
from stages.scpr.extract import (
    CaseResult,
    ScprParams,
    extract_case,
    extract_manifest,
    scpr_path,
)
from stages.scpr.frames import FRAMES, Frames, compute_frames
from stages.scpr.sampling import plane_grid, sample_planes

__all__ = [
    "FRAMES",
    "CaseResult",
    "Frames",
    "ResampledCenterline",
    "ScprParams",
    "compute_frames",
    "extract_case",
    "extract_manifest",
    "plane_grid",
    "resample_centerline",
    "sample_planes",
    "scpr_path",
]
