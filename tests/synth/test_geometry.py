"""Scanner geometry of the phantom cases: clinical spacing, rotated/flipped directions and
non-zero origins, and centerlines that land on the vessels when the direction is honoured."""

from __future__ import annotations

import numpy as np
import pandas as pd
import SimpleITK as sitk

from tests.synth.conftest import Cohort
from tests.synth.measure import world_to_index_zyx


def _images(phantom: Cohort):
    for row in pd.read_csv(phantom.path / "cases.csv").itertuples():
        image = sitk.ReadImage(str(phantom.path / row.image))
        lumen = sitk.ReadImage(str(phantom.path / row.case_id / "lumen.nii.gz"))
        yield row, image, lumen


def test_cohort_mixes_identity_rotated_and_shifted_grids(phantom: Cohort) -> None:
    directions, origins = [], []
    for _, image, _ in _images(phantom):
        directions.append(np.array(image.GetDirection()).reshape(3, 3))
        origins.append(np.array(image.GetOrigin()))
        spacing = image.GetSpacing()
        assert 0.35 - 1e-6 <= spacing[0] == spacing[1] <= 0.5 + 1e-6 and abs(spacing[2] - 0.5) < 1e-6
    identity = [np.allclose(d, np.eye(3)) for d in directions]
    at_zero = [np.allclose(o, 0.0) for o in origins]
    assert not all(identity) and any(identity)
    assert not all(at_zero) and any(at_zero)
    assert any(i and not z for i, z in zip(identity, at_zero))  # shifted only: origin bugs alone show
    for d in directions:
        assert np.allclose(d.T @ d, np.eye(3), atol=1e-5)


def test_volumes_are_int16_hu_and_uint8_labels_on_one_grid(phantom: Cohort) -> None:
    for row, image, lumen in _images(phantom):
        assert image.GetPixelID() == sitk.sitkInt16 and lumen.GetPixelID() == sitk.sitkUInt8
        assert image.GetSize() == lumen.GetSize()
        assert np.allclose(image.GetOrigin(), lumen.GetOrigin()) and np.allclose(image.GetDirection(), lumen.GetDirection())
        assert np.allclose(image.GetSpacing(), lumen.GetSpacing())
        labels = sitk.GetArrayFromImage(lumen)
        assert set(np.unique(labels)) <= {0, 1, 2, 3} and {0, 1} <= set(np.unique(labels))
        hu = sitk.GetArrayFromImage(image)
        share = {  # of the volume, by HU band
            "lung": np.mean(hu < -600), "fat": np.mean((hu > -200) & (hu < -50)),
            "myocardium and soft tissue": np.mean((hu > 0) & (hu < 150)), "contrast blood": np.mean(hu > 200),
        }
        assert min(share.values()) > 0.02, (row.case_id, share)


def test_own_world_to_index_matches_simpleitk(phantom: Cohort) -> None:
    rng = np.random.default_rng(0)
    for _, image, _ in _images(phantom):
        points = np.array(image.GetOrigin()) + rng.uniform(-50, 50, size=(5, 3))
        ours = world_to_index_zyx(image, points)
        theirs = np.array([image.TransformPhysicalPointToContinuousIndex(p.tolist()) for p in points])[:, ::-1]
        assert np.allclose(ours, theirs, atol=1e-6)


def test_centerline_points_lie_in_their_image_on_the_vessel(phantom: Cohort) -> None:
    instances = pd.read_csv(phantom.path / "instances.csv")
    for row, image, lumen in _images(phantom):
        labels = sitk.GetArrayFromImage(lumen)
        table = pd.read_csv(phantom.path / row.centerlines)
        index = np.rint(world_to_index_zyx(image, table[["x", "y", "z"]].to_numpy())).astype(int)
        assert np.all((index >= 0) & (index < np.array(labels.shape))), row.case_id
        on = labels[index[:, 0], index[:, 1], index[:, 2]]
        assert np.all(np.isin(on, (1, 2, 3))), (row.case_id, table[on == 0].head())
        # Away from lesions the centre of the vessel is lumen.
        lesion = np.zeros(len(table), dtype=bool)
        for inst in instances[instances.case_id == row.case_id].itertuples():
            lesion |= (table.vessel_id == inst.vessel_id).to_numpy() & table.point_id.between(inst.start, inst.end).to_numpy()
        assert np.all(on[~lesion] == 1), row.case_id


def test_direction_matters(phantom: Cohort) -> None:
    """Ignoring the direction matrix of a rotated case puts most centerline points off the
    lumen: the geometry test above would catch a generator that wrote identity grids."""
    for row, image, lumen in _images(phantom):
        direction = np.array(image.GetDirection()).reshape(3, 3)
        if np.allclose(direction, np.eye(3)):
            continue
        labels = sitk.GetArrayFromImage(lumen)
        points = pd.read_csv(phantom.path / row.centerlines)[["x", "y", "z"]].to_numpy()
        naive = np.rint(((points - image.GetOrigin()) / image.GetSpacing())[:, ::-1]).astype(int)
        inside = np.all((naive >= 0) & (naive < np.array(labels.shape)), axis=1)
        hits = labels[tuple(naive[inside].T)] == 1 if inside.any() else np.array([])
        assert hits.size == 0 or hits.mean() < 0.2
        return
    raise AssertionError("no rotated case in the cohort")
