"""A tiny valid cohort on disk (one or two cases) that tests corrupt one defect at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

# A 30-degree rotation about z, with an axis flip: a non-identity, non-diagonal direction.
_C, _S = np.cos(np.pi / 6), np.sin(np.pi / 6)
DIRECTION = np.array([[_C, -_S, 0.0], [_S, _C, 0.0], [0.0, 0.0, -1.0]])
# DICOM stores the slice axis as row x column, so a series can only hold a right-handed frame.
ROTATION = DIRECTION @ np.diag([1.0, 1.0, -1.0])
ORIGIN = np.array([-12.5, 40.0, 101.25])
SPACING = np.array([0.5, 0.4, 0.6])
SIZE = (40, 50, 30)  # ITK order (x, y, z)


def make_image(size: tuple[int, int, int] = SIZE, direction: np.ndarray = DIRECTION) -> sitk.Image:
    """An int16 ramp volume with the fixture geometry (``direction`` replaceable)."""
    array = np.arange(np.prod(size), dtype=np.int64).reshape(size[::-1]) % 2000 - 1000
    image = sitk.GetImageFromArray(array.astype(np.int16))
    image.SetOrigin(tuple(ORIGIN))
    image.SetSpacing(tuple(SPACING))
    image.SetDirection(tuple(direction.ravel()))
    return image


def inside_points(n: int, offset: float = 0.0) -> np.ndarray:
    """``[n, 3]`` world points along a line well inside the fixture image."""
    idx_xyz = np.stack([np.linspace(8, 30, n), np.full(n, 20.0 + offset), np.linspace(5, 24, n)], axis=1)
    return ORIGIN + idx_xyz @ (DIRECTION * SPACING).T


def write_cohort(folder: Path, n_cases: int = 2) -> dict[str, Path]:
    """Write ``cases.csv``, ``instances.csv`` and per case ``image.nii.gz`` and
    ``centerlines.csv`` (vessels LAD with 8 points, RCA with 6) into ``folder``."""
    manifest = ["case_id,image,centerlines,split"]
    instances = ["instance_id,case_id,vessel_id,start,end,grade"]
    for c in range(n_cases):
        case = f"case{c}"
        (folder / case).mkdir(parents=True)
        sitk.WriteImage(make_image(), str(folder / case / "image.nii.gz"))
        rows = ["vessel_id,point_id,x,y,z,radius"]
        for vessel, n, offset in (("LAD", 8, 0.0), ("RCA", 6, 10.0)):
            for pid, p in enumerate(inside_points(n, offset)):
                rows.append(f"{vessel},{pid},{p[0]:.4f},{p[1]:.4f},{p[2]:.4f},1.5")
        (folder / case / "centerlines.csv").write_text("\n".join(rows) + "\n")
        manifest.append(f"{case},{case}/image.nii.gz,{case}/centerlines.csv,{'train' if c == 0 else 'test'}")
        instances.append(f"{case}_LAD_0,{case},LAD,2,4,3")
        instances.append(f"{case}_RCA_0,{case},RCA,1,3,")
    (folder / "cases.csv").write_text("\n".join(manifest) + "\n")
    (folder / "instances.csv").write_text("\n".join(instances) + "\n")
    return {
        "manifest": folder / "cases.csv",
        "instances": folder / "instances.csv",
        "centerlines": folder / "case0" / "centerlines.csv",
        "image": folder / "case0" / "image.nii.gz",
    }


def replace_line(path: Path, line: int, text: str) -> None:
    """Replace 1-based ``line`` of a text file."""
    lines = path.read_text().splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")
