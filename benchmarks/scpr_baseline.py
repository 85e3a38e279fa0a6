"""The paper authors' way of sampling an SCPR, kept as the baseline of benchmarks/scpr_speed.py
and of the equivalence test in tests/scpr/test_sampling.py.

For each vessel the authors' code hands the whole volume to ``skimage.transform.warp``, which
converts it to float64 (``preserve_range``), calls ``scipy.ndimage.map_coordinates`` (order 1,
``mode='constant'`` mapped to ``'grid-constant'``) on the full array with every coordinate of
the vessel at once, and clips the result to the volume's value range (``clip=True``, the range
widened to the fill value where that is used). This module does the same steps without
scikit-image, on the grid of :func:`stages.scpr.sampling.plane_grid`, so both methods sample
the same points.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import map_coordinates

from stages.io.geometry import Geometry
from stages.scpr.sampling import DEFAULT_FILL, plane_grid


def baseline_sample_planes(
    volume: NDArray,
    geometry: Geometry,
    points: ArrayLike,
    normals: ArrayLike,
    binormals: ArrayLike,
    size: int,
    pixel: float,
    fill: float = DEFAULT_FILL,
) -> NDArray[np.float32]:
    """float32 ``[N, size, size]``: the planes of :func:`stages.scpr.sample_planes`, sampled
    from ``volume`` ``[z, y, x]`` (any dtype, on ``geometry``) converted whole to float64."""
    as_float = volume.astype(np.float64)
    index = geometry.world_to_index(plane_grid(points, normals, binormals, size, pixel))
    samples = map_coordinates(as_float, np.moveaxis(index, -1, 0), order=1, mode="grid-constant", cval=fill)
    np.clip(samples, min(as_float.min(), fill), max(as_float.max(), fill), out=samples)
    return samples.astype(np.float32)
