"""Shapes, masks and alignment through the CFR model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import map_coordinates

from stages.model.backbone import ResUNet3d
from stages.model.cfr import CFRModel, ModelConfig
from stages.model.fusion import core_positions, sample_at_points

TINY = ModelConfig(channels=8, widths=(4, 8), depth=2, heads=2, mlp_hidden=16, dropout=0.0, max_tokens=64)


def make_batch(lengths: list[int], cores: list[tuple[int, int]], seed: int = 0, size: int = 12) -> dict[str, torch.Tensor]:
    """Padded batch of instances with ``lengths`` points and inclusive ``cores``."""
    g = torch.Generator().manual_seed(seed)
    d = max(lengths)
    mask = torch.zeros(len(lengths), d, dtype=torch.bool)
    for b, n in enumerate(lengths):
        mask[b, :n] = True
    return {
        "scpr": torch.randn(len(lengths), 1, d, 10, 10, generator=g),
        "ccta": torch.randn(len(lengths), 1, size, size, size, generator=g),
        "ccta_points": torch.rand(len(lengths), d, 3, generator=g) * (size - 1),
        "mask": mask,
        "core_start": torch.tensor([c[0] for c in cores]),
        "core_end": torch.tensor([c[1] for c in cores]),
    }


@pytest.mark.parametrize("shape", [(9, 10, 10), (16, 12, 7), (5, 5, 5)])
def test_backbone_keeps_resolution(shape: tuple[int, int, int]) -> None:
    net = ResUNet3d(1, 8, (4, 8, 16))
    assert net(torch.randn(2, 1, *shape)).shape == (2, 8, *shape)


def test_core_positions() -> None:
    positions, valid = core_positions(torch.tensor([2, 0]), torch.tensor([4, 0]), 10)
    assert positions.tolist() == [[2, 3, 4], [0, 0, 0]]
    assert valid.tolist() == [[True, True, True], [True, False, False]]


def test_sample_at_points_matches_scipy_trilinear() -> None:
    volume = np.random.default_rng(0).normal(size=(7, 9, 11)).astype(np.float32)
    points = np.random.default_rng(1).uniform(0, 6, size=(13, 3)).astype(np.float32)
    ours = sample_at_points(torch.from_numpy(volume)[None, None], torch.from_numpy(points)[None])[0, :, 0].numpy()
    np.testing.assert_allclose(ours, map_coordinates(volume, points.T, order=1), atol=1e-5)


@pytest.mark.parametrize("modality", ["both", "scpr", "ccta"])
def test_outputs_and_variable_lengths(modality: str) -> None:
    model = CFRModel(ModelConfig(**{**TINY.to_dict(), "modality": modality}), n_outputs=5).eval()
    batch = make_batch([20, 14, 9], [(10, 12), (10, 10), (3, 8)])
    assert model(batch).shape == (3, 5)


def test_padding_does_not_change_an_instance() -> None:
    torch.manual_seed(0)
    model = CFRModel(TINY, n_outputs=5).eval()
    alone = make_batch([9], [(3, 5)], seed=1)
    padded = {k: v.clone() for k, v in alone.items()}
    extra = 6  # pad the centerline axis with junk marked invalid
    padded["scpr"] = torch.cat([alone["scpr"], torch.full((1, 1, extra, 10, 10), 5.0)], dim=2)
    padded["ccta_points"] = torch.cat([alone["ccta_points"], torch.full((1, extra, 3), 3.0)], dim=1)
    padded["mask"] = torch.cat([alone["mask"], torch.zeros(1, extra, dtype=torch.bool)], dim=1)
    # the convolution sees the padding, so compare tokens that only depend on the core: CCTA-only model
    ccta_model = CFRModel(ModelConfig(**{**TINY.to_dict(), "modality": "ccta"}), 5).eval()
    torch.testing.assert_close(ccta_model(alone), ccta_model(padded), atol=1e-5, rtol=1e-5)
    pair = make_batch([9, 9], [(3, 5), (0, 8)], seed=1)
    pair_short = {k: v.clone() for k, v in pair.items()}
    pair_short["core_end"] = torch.tensor([5, 2])  # the other instance's core changes token count
    torch.testing.assert_close(model(pair)[0], model(pair_short)[0], atol=1e-5, rtol=1e-5)


def test_config_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="modality"):
        ModelConfig(modality="ct")
    with pytest.raises(ValueError, match="heads"):
        CFRModel(ModelConfig(channels=10, heads=4, widths=(4,)), 5)
    with pytest.raises(ValueError, match="unknown key"):
        ModelConfig.from_dict({"chanels": 3})
    with pytest.raises(ValueError, match="max_tokens"):
        CFRModel(ModelConfig(**{**TINY.to_dict(), "max_tokens": 2}), 5).eval()(make_batch([9], [(0, 8)]))


def test_masked_backbone_ignores_padding() -> None:
    torch.manual_seed(0)
    net = ResUNet3d(1, 6, (4, 8, 8)).eval()
    x = torch.randn(1, 1, 9, 10, 10)
    mask = torch.ones(1, 9, dtype=torch.bool)
    mask[0, :2] = False  # padding at a vessel start
    alone = net(x, mask)
    padded = net(torch.cat([x, torch.randn(1, 1, 6, 10, 10)], dim=2), torch.cat([mask, torch.zeros(1, 6, dtype=torch.bool)], 1))
    torch.testing.assert_close(padded[:, :, :9], alone, atol=1e-5, rtol=1e-5)
    assert alone[:, :, :2].abs().max() == 0 and padded[:, :, 9:].abs().max() == 0


def test_instance_output_independent_of_batch_padding() -> None:
    torch.manual_seed(0)
    model = CFRModel(TINY, n_outputs=5).eval()
    pair = make_batch([9, 15], [(3, 5), (2, 12)], seed=2)
    alone = {k: v[:1].clone() for k, v in pair.items()}
    alone["scpr"] = alone["scpr"][:, :, :9]
    alone["ccta_points"], alone["mask"] = alone["ccta_points"][:, :9], alone["mask"][:, :9]
    torch.testing.assert_close(model(pair)[0], model(alone)[0], atol=1e-5, rtol=1e-5)
