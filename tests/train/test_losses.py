"""Losses and heads against closed forms and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stages.train.losses import HEADS, OrdinalHead, make_head, soft_targets

CRD = np.array([[0, 1, 9, 16, 25], [1, 0, 4, 9, 16], [9, 4, 0, 1, 2], [16, 9, 1, 0, 1], [25, 16, 2, 1, 0]])
PRINTED = [[.7310, .2689, .0001, 0, 0], [.2654, .7213, .0132, .0001, 0], [.0001, .0120, .6572, .2418, .0889],
           [0, .0001, .2119, .5761, .2119], [0, 0, .0900, .2447, .6652]]


def test_cr_soft_targets_closed_form() -> None:
    closed = np.exp(-CRD) / np.exp(-CRD).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(soft_targets("crd").numpy(), closed, atol=1e-7)
    np.testing.assert_allclose(soft_targets("crd").numpy(), PRINTED, atol=1.5e-4)  # DESIGN.md, truncated to 4 decimals


@pytest.mark.parametrize(("name", "power"), [("ad", 1), ("sd", 2)])
def test_sord_soft_targets(name: str, power: int) -> None:
    g = np.arange(1, 6)
    d = np.abs(g[:, None] - g[None, :]) ** power
    np.testing.assert_allclose(soft_targets(name).numpy(), np.exp(-d) / np.exp(-d).sum(1, keepdims=True), atol=1e-7)


def test_cr_loss_hand_computed_with_class_weight() -> None:
    head = make_head("cr")
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0, 0.0], [2.0, 1.0, 0.0, -1.0, -2.0]])
    grades = torch.tensor([3, 5])
    targets = np.exp(-CRD) / np.exp(-CRD).sum(axis=1, keepdims=True)
    log_p = torch.log_softmax(logits, dim=1).numpy()
    expected = -(2 * targets[2] @ log_p[0] + 4 * targets[4] @ log_p[1]) / 2  # weights 2 and 4 by ground truth
    assert head.loss(logits, grades).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("grade", [1, 2, 3, 4, 5])
def test_cr_loss_minimal_at_the_soft_target(grade: int) -> None:
    head = make_head("cr")
    perfect = torch.log(soft_targets("crd")[grade - 1]).clamp(min=-30)[None].requires_grad_(True)
    best = head.loss(perfect, torch.tensor([grade]))
    best.backward()
    assert perfect.grad.abs().max().item() < 1e-6
    generator = torch.Generator().manual_seed(grade)
    for _ in range(20):
        other = perfect.detach() + torch.randn(1, 5, generator=generator)
        assert head.loss(other, torch.tensor([grade])).item() > best.item()


def test_cost_sensitive_hand_computed() -> None:
    head = make_head("cost", cost_lambda=10.0)
    logits = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0]])
    p = torch.softmax(logits, dim=1)[0].numpy()
    cost_row = (np.arange(1, 6) - 2) ** 2 / 16  # ground truth grade 2, max squared gap 16
    expected = -np.log(p[1]) + 10 * (cost_row @ p)
    assert head.loss(logits, torch.tensor([2])).item() == pytest.approx(expected, rel=1e-6)


def test_regression_decodes_rounding_half_up_and_clipping() -> None:
    head = make_head("regression")
    outputs = torch.tensor([[0.2], [1.49], [2.5], [3.7], [9.0], [-4.0]])
    assert head.decode(outputs).tolist() == [1, 1, 3, 4, 5, 1]
    np.testing.assert_array_equal(head.probabilities(outputs).argmax(1).numpy() + 1, [1, 1, 3, 4, 5, 1])
    assert head.loss(torch.tensor([[3.0], [1.0]]), torch.tensor([3, 3])).item() == pytest.approx(2.0)


def test_ordinal_encoding_and_decoding() -> None:
    encoded = OrdinalHead.encode(torch.tensor([1, 2, 3, 4, 5]))
    np.testing.assert_array_equal(encoded.numpy(), np.tril(np.ones((5, 4)), k=-1))
    head = make_head("ordinal")
    logits = torch.where(encoded > 0, 5.0, -5.0)
    assert head.decode(logits).tolist() == [1, 2, 3, 4, 5]
    probs = head.probabilities(logits)
    assert probs.argmax(1).tolist() == [0, 1, 2, 3, 4]
    torch.testing.assert_close(probs.sum(1), torch.ones(5))
    # non-monotone cumulative outputs: P(>1)=0.2 < P(>2)=0.9 ; 1 + count(>0.5) = 2
    odd = torch.logit(torch.tensor([[0.2, 0.9, 0.1, 0.1]]))
    assert head.decode(odd).tolist() == [2]
    assert (head.probabilities(odd) >= 0).all()


@pytest.mark.parametrize("name", HEADS)
def test_every_head_decodes_and_has_probabilities(name: str) -> None:
    head = make_head(name)
    outputs = torch.randn(7, head.n_outputs, generator=torch.Generator().manual_seed(0))
    grades = head.decode(outputs)
    assert grades.shape == (7,) and grades.min() >= 1 and grades.max() <= 5
    probs = head.probabilities(outputs)
    assert probs.shape == (7, 5) and (probs >= 0).all()
    torch.testing.assert_close(probs.sum(1), torch.ones(7))
    assert torch.isfinite(head.loss(outputs, torch.tensor([1, 2, 3, 4, 5, 1, 2])))


def test_bad_arguments_named() -> None:
    with pytest.raises(ValueError, match="loss must be one of"):
        make_head("focal")
    with pytest.raises(ValueError, match="class_weights"):
        make_head("cr", class_weights=(1, 2))
    with pytest.raises(ValueError, match="grades must lie in 1..5"):
        make_head("cr").loss(torch.zeros(1, 5), torch.tensor([0]))
