"""Grad-CAM maps: localisation on a hand-built network, agreement with a hand-written Grad-CAM
of the CFR model, normalisation, class scores per head, and a model left untouched."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import Tensor, nn

from stages.explain.gradcam import backbones_of, class_score, grad_cam
from stages.model.cfr import CFRModel, ModelConfig
from stages.model.fusion import core_positions
from stages.train.losses import OrdinalHead, RegressionHead, make_head

SCPR_SHAPE, CCTA_SHAPE = (10, 6, 6), (8, 8, 8)


class RegionBackbone(nn.Module):
    """Two channels: the input inside box ``read`` (channel 0) and inside box ``ignored`` (1)."""

    def __init__(self, shape: tuple[int, int, int], read: tuple[slice, ...], ignored: tuple[slice, ...]) -> None:
        super().__init__()
        masks = torch.zeros(2, *shape)
        masks[(0, *read)] = 1
        masks[(1, *ignored)] = 1
        self.register_buffer("masks", masks)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        return x * self.masks[None]


class RegionModel(nn.Module):
    """Logits ``weights * (sum of channel 0 of both backbones)``: the output depends only on the
    input inside the ``read`` boxes, though channel 1 is as bright inside the ``ignored`` boxes."""

    READ_SCPR, IGNORED_SCPR = (slice(3, 6), slice(1, 3), slice(2, 5)), (slice(6, 9), slice(3, 6), slice(0, 3))
    READ_CCTA, IGNORED_CCTA = (slice(0, 3), slice(5, 8), slice(2, 4)), (slice(4, 8), slice(0, 3), slice(4, 8))

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(modality="both")
        self.scpr_backbone = RegionBackbone(SCPR_SHAPE, self.READ_SCPR, self.IGNORED_SCPR)
        self.ccta_backbone = RegionBackbone(CCTA_SHAPE, self.READ_CCTA, self.IGNORED_CCTA)
        self.weights = nn.Parameter(torch.tensor([-2.0, -1.0, 0.5, 1.0, 3.0]))

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        evidence = (self.scpr_backbone(batch["scpr"])[:, 0].sum(dim=(1, 2, 3))
                    + self.ccta_backbone(batch["ccta"])[:, 0].sum(dim=(1, 2, 3)))
        return evidence[:, None] * self.weights[None]


def _batch(b: int = 2, d: int = 10, seed: int = 0) -> dict[str, Tensor]:
    """Random inputs in (0.5, 1.5) of the test shapes, no padding, core 3..6."""
    g = torch.Generator().manual_seed(seed)
    return {
        "scpr": 0.5 + torch.rand(b, 1, d, *SCPR_SHAPE[1:], generator=g),
        "ccta": 0.5 + torch.rand(b, 1, *CCTA_SHAPE, generator=g),
        "ccta_points": torch.stack([torch.linspace(1, 6, d), torch.full((d,), 3.5), torch.linspace(2, 5, d)], -1).expand(b, d, 3).clone(),
        "mask": torch.ones(b, d, dtype=torch.bool),
        "core_start": torch.full((b,), 3), "core_end": torch.full((b,), 6),
    }


def _box(shape: tuple[int, ...], box: tuple[slice, ...]) -> Tensor:
    inside = torch.zeros(shape, dtype=torch.bool)
    inside[box] = True
    return inside


def test_map_lies_in_the_region_the_output_depends_on() -> None:
    model, batch = RegionModel(), _batch()
    result = grad_cam(model, make_head("ce"), batch)
    assert result.pred.tolist() == [5, 5]  # positive evidence, largest weight
    for name, shape, read, ignored in (("scpr", SCPR_SHAPE, model.READ_SCPR, model.IGNORED_SCPR),
                                        ("ccta", CCTA_SHAPE, model.READ_CCTA, model.IGNORED_CCTA)):
        cam = result.maps[name]
        inside = _box(shape, read)
        assert cam.shape == (2, *shape)
        for b in range(2):
            assert cam[b][inside].min() > 0 and torch.all(cam[b][~inside] == 0)
            assert cam[b].max() == 1
            # inside the region the map follows the input (alpha * x, normalised)
            x = batch[name][b, 0][inside]
            torch.testing.assert_close(cam[b][inside], x / x.max())
        assert _box(shape, ignored).any()


def test_a_grade_the_region_speaks_against_gets_an_empty_map() -> None:
    result = grad_cam(RegionModel(), make_head("ce"), _batch(), target=1)  # weight -2: evidence against
    assert result.target.tolist() == [1, 1]
    for cam in result.maps.values():
        assert torch.all(cam == 0)


def _tiny_model(modality: str = "both") -> CFRModel:
    torch.manual_seed(0)
    config = ModelConfig(channels=8, widths=(4, 8), depth=1, heads=2, mlp_hidden=16, modality=modality)
    return CFRModel(config, 5).eval()


def _hand_cam(model: CFRModel, batch: dict[str, Tensor], grade: int) -> dict[str, Tensor]:
    """Grad-CAM written out: backbone features as leaves, the rest of CFRModel.forward, the
    logit of ``grade`` differentiated, channel weights = mean gradient, ReLU, / max."""
    f_scpr = model.scpr_backbone(batch["scpr"], batch["mask"]).detach().requires_grad_()
    f_ccta = model.ccta_backbone(batch["ccta"]).detach().requires_grad_()
    positions, valid = core_positions(batch["core_start"], batch["core_end"], batch["mask"].shape[1])
    valid = valid & batch["mask"].gather(1, positions)
    outputs = model.transformer(model.fusion(f_scpr, f_ccta, batch["ccta_points"], positions), valid)
    outputs[0, grade - 1].backward()
    cams = {}
    for name, f in (("scpr", f_scpr), ("ccta", f_ccta)):
        weights = f.grad[0].mean(dim=(1, 2, 3))
        cam = torch.relu((weights[:, None, None, None] * f[0].detach()).sum(0))
        cams[name] = cam / cam.max()
    return cams


@pytest.mark.parametrize("grade", [1, 3, 5])
def test_cfr_maps_match_a_hand_written_grad_cam(grade: int) -> None:
    model, batch = _tiny_model(), _batch(b=1, d=12)
    expected = _hand_cam(model, batch, grade)
    result = grad_cam(model, make_head("cr"), batch, target=grade)
    for name in ("scpr", "ccta"):
        torch.testing.assert_close(result.maps[name][0], expected[name], atol=1e-5, rtol=1e-4)


def test_maps_are_scpr_shaped_non_negative_and_normalised_and_zero_on_padding() -> None:
    model, batch = _tiny_model(), _batch(b=2, d=12, seed=3)
    batch["mask"][1, 9:] = False
    result = grad_cam(model, make_head("cr"), batch)
    assert result.maps["scpr"].shape == batch["scpr"][:, 0].shape
    assert result.maps["ccta"].shape == batch["ccta"][:, 0].shape
    for cam in result.maps.values():
        assert cam.min() >= 0
        assert torch.allclose(cam.flatten(1).amax(1), torch.ones(2))
    assert torch.all(result.maps["scpr"][1, 9:] == 0)


def test_the_model_is_left_unchanged() -> None:
    model, batch = _tiny_model(), _batch(b=2, d=12, seed=1)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    with torch.no_grad():
        outputs_before = model(batch)
    model.train()
    result = grad_cam(model, make_head("cr"), batch)
    assert model.training
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(batch), outputs_before)
    torch.testing.assert_close(result.outputs, outputs_before)


def test_ablation_model_has_one_map() -> None:
    model = _tiny_model("scpr")
    assert backbones_of(model) == ("scpr",)
    assert set(grad_cam(model, make_head("cr"), _batch(b=1, d=12)).maps) == {"scpr"}


def test_class_scores_per_head() -> None:
    logits = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.5]])
    assert class_score(make_head("cr"), logits, torch.tensor([4])).item() == pytest.approx(0.4)
    z = torch.tensor([[1.0, 2.0, -3.0, 4.0]])
    assert class_score(OrdinalHead(), z, torch.tensor([3])).item() == pytest.approx(1 + 2 + 3 - 4)
    assert class_score(OrdinalHead(), z, torch.tensor([1])).item() == pytest.approx(-1 - 2 + 3 - 4)
    y = torch.tensor([[2.7]])  # decodes to 3
    assert [class_score(RegressionHead(), y, torch.tensor([g])).item() for g in (2, 3, 5)] == pytest.approx([-2.7, 2.7, 2.7])


def test_bad_target() -> None:
    with pytest.raises(ValueError, match="target grade must lie in 1..5"):
        grad_cam(RegionModel(), make_head("ce"), _batch(), target=6)
