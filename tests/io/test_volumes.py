"""Volume I/O keeps origin, spacing and direction in every format, DICOM series included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from stages.errors import InputError
from stages.io.geometry import Geometry
from stages.io.volumes import read_geometry, read_volume, write_volume
from tests.fixtures import DIRECTION, ORIGIN, ROTATION, SPACING, make_image


def _assert_same_geometry(image: sitk.Image, direction: np.ndarray = DIRECTION, atol: float = 1e-5) -> None:
    np.testing.assert_allclose(image.GetOrigin(), ORIGIN, atol=atol)
    np.testing.assert_allclose(image.GetSpacing(), SPACING, atol=atol)
    np.testing.assert_allclose(np.array(image.GetDirection()).reshape(3, 3), direction, atol=atol)


@pytest.mark.parametrize("name", ["v.nii.gz", "v.nii", "v.mha", "v.nrrd"])
def test_round_trip_keeps_geometry_and_values(tmp_path: Path, name: str) -> None:
    image = make_image()
    write_volume(image, tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    back = read_volume(tmp_path / name)
    _assert_same_geometry(back)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back), sitk.GetArrayFromImage(image))
    header = read_geometry(tmp_path / name)
    np.testing.assert_allclose(header.direction, DIRECTION, atol=1e-5)
    assert header.size == image.GetSize()


def _write_dicom_series(image: sitk.Image, folder: Path) -> None:
    """One file per slice with the patient position/orientation tags SimpleITK reads back."""
    folder.mkdir()
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    direction = image.GetDirection()
    orientation = "\\".join(f"{v:.6f}" for v in (*direction[0::3], *direction[1::3]))
    for k in range(image.GetDepth()):
        slice_ = image[:, :, k]
        for tag, value in (
            ("0008|0060", "CT"),
            ("0020|000e", "1.2.826.0.1.3680043.2.1125.1.123456"),
            ("0020|000d", "1.2.826.0.1.3680043.2.1125.1.654321"),
            ("0020|0037", orientation),
            ("0020|0032", "\\".join(f"{v:.6f}" for v in image.TransformIndexToPhysicalPoint((0, 0, k)))),
            ("0020|0013", str(k + 1)),
            ("0028|0030", f"{image.GetSpacing()[1]:.6f}\\{image.GetSpacing()[0]:.6f}"),
            ("0018|0050", f"{image.GetSpacing()[2]:.6f}"),
        ):
            slice_.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"slice{k:03d}.dcm"))
        writer.Execute(slice_)


def test_dicom_series_folder(tmp_path: Path) -> None:
    image = make_image(direction=ROTATION)
    _write_dicom_series(image, tmp_path / "series")
    back = read_volume(tmp_path / "series")
    _assert_same_geometry(back, direction=ROTATION, atol=1e-4)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back), sitk.GetArrayFromImage(image))
    assert read_geometry(tmp_path / "series").size == image.GetSize()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "image does not exist"),
        (lambda p: p.write_text("not an image"), "cannot read image"),
        (lambda p: sitk.WriteImage(sitk.Image(8, 8, sitk.sitkInt16), str(p)), "expected a 3D volume"),
        (lambda p: sitk.WriteImage(sitk.Image([4, 4, 4], sitk.sitkVectorFloat32, 3), str(p)), "expected a scalar volume"),
    ],
    ids=["missing", "garbage", "2d", "vector"],
)
def test_bad_volume_named(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "bad.nii.gz"
    make(path)
    for reader in (read_volume, read_geometry):
        with pytest.raises(InputError, match=message) as caught:
            reader(path)
        assert caught.value.file == str(path)


def test_empty_folder_is_not_a_series(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no DICOM series"):
        read_volume(tmp_path)


def test_geometry_survives_header_read(tmp_path: Path) -> None:
    write_volume(make_image(), tmp_path / "v.mha")
    full = Geometry.from_image(read_volume(tmp_path / "v.mha"))
    header = read_geometry(tmp_path / "v.mha")
    np.testing.assert_allclose(full.index_to_world([[3, 4, 5]]), header.index_to_world([[3, 4, 5]]))
