"""Reading and writing 3D CCTA volumes with SimpleITK, geometry (origin, spacing, direction) kept.

Any format SimpleITK reads (NIfTI, MHA/MHD, NRRD, ...) or a folder holding one DICOM series.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from stages.errors import InputError
from stages.io.artifacts import atomic_output
from stages.io.geometry import Geometry

_COMPRESSIBLE = (".nii.gz", ".nii", ".mha", ".nrrd")


def _dicom_files(folder: Path) -> list[str]:
    """The file names of the one DICOM series in ``folder``, in slice order."""
    reader = sitk.ImageSeriesReader
    series = reader.GetGDCMSeriesIDs(str(folder))
    if not series:
        raise InputError(folder, "folder holds no DICOM series")
    if len(series) > 1:
        raise InputError(folder, f"folder holds {len(series)} DICOM series; give one series per folder")
    return list(reader.GetGDCMSeriesFileNames(str(folder), series[0]))


def _check_3d_scalar(path: Path, dimension: int, components: int) -> None:
    if dimension != 3:
        raise InputError(path, f"expected a 3D volume, got a {dimension}D image")
    if components != 1:
        raise InputError(path, f"expected a scalar volume, got {components} components per voxel")


def read_volume(path: str | Path) -> sitk.Image:
    """Read a 3D scalar volume (file or DICOM series folder) with its physical geometry.

    Raises :class:`InputError` naming the path when it is missing, unreadable, not 3D or not
    scalar.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "image does not exist")
    try:
        if path.is_dir():
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(_dicom_files(path))
            image = reader.Execute()
        else:
            image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise InputError(path, f"cannot read image: {_first_line(exc)}") from exc
    _check_3d_scalar(path, image.GetDimension(), image.GetNumberOfComponentsPerPixel())
    return image


def read_geometry(path: str | Path) -> Geometry:
    """The physical grid of a volume (file or DICOM series folder), reading a file's header
    only. Raises :class:`InputError` as :func:`read_volume` does."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "image does not exist")
    if path.is_dir():
        return Geometry.from_image(read_volume(path))
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise InputError(path, f"cannot read image: {_first_line(exc)}") from exc
    _check_3d_scalar(path, reader.GetDimension(), reader.GetNumberOfComponents())
    return Geometry(
        origin=np.array(reader.GetOrigin()),
        spacing=np.array(reader.GetSpacing()),
        direction=np.array(reader.GetDirection()).reshape(3, 3),
        size=reader.GetSize(),
    )


def write_volume(image: sitk.Image, path: str | Path) -> None:
    """Write ``image`` to ``path`` atomically (compressed where the format allows).

    Single-file formats only (``.nii.gz``, ``.nii``, ``.mha``, ``.nrrd``): a two-file ``.mhd``
    header would point at its data file under the temporary name.
    """
    path = Path(path)
    if path.suffix == ".mhd":
        raise ValueError(f"path: write a single-file format such as .mha, not {path.name}")
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".nii.gz") else path.suffix
    with atomic_output(path) as tmp:
        # SimpleITK picks the format from the extension, so the temporary name keeps it.
        tmp_with_ext = tmp.with_name(tmp.name + suffix)
        try:
            sitk.WriteImage(image, str(tmp_with_ext), useCompression=path.name.endswith(_COMPRESSIBLE))
            tmp_with_ext.replace(tmp)
        finally:
            tmp_with_ext.unlink(missing_ok=True)


def _first_line(exc: BaseException) -> str:
    """The most telling single line of an ITK exception message."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for ln in lines:
        if ln.lower().startswith("description:"):
            return ln.split(":", 1)[1].strip()
    return lines[-1] if lines else type(exc).__name__
