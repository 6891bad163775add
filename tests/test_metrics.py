"""Tests for cftrain.metrics (method.md §6.2)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from cftrain.metrics import (
    accuracy,
    cost,
    distance_implausibility,
    divergence_implausibility,
    macro_f1,
    mmd2_unbiased,
    validity,
)


class FixedLinear(nn.Module):
    """Logits = x @ W: class 0 when x0 > x1, else class 1."""

    def forward(self, x):
        return torch.stack([x[:, 0], x[:, 1]], dim=1)


def test_validity_and_cost():
    model = FixedLinear()
    cf = torch.tensor([[2.0, 1.0], [0.0, 3.0]])
    assert validity(model, cf, torch.tensor([0, 0])).tolist() == [True, False]
    factual = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    assert cost(cf, factual).tolist() == [1.0, 3.0]


def test_mmd_hand_value_and_length_scale():
    """x = {0, 1}, y = {3, 4}: Σ_{i≠j} k/(m(m−1)) = e^{−1/(2ℓ²)} per side, cross distances 3, 4, 2, 3."""
    x, y = torch.tensor([[0.0], [1.0]]), torch.tensor([[3.0], [4.0]])

    def hand(ell):
        k = lambda d: math.exp(-(d**2) / (2 * ell**2))  # noqa: E731
        return 2 * k(1) - 2 * (k(3) + k(4) + k(2) + k(3)) / 4

    assert hand(1.0) == pytest.approx(1.134117, abs=1e-6)
    assert mmd2_unbiased(x, y, 1.0) == pytest.approx(1.134117, abs=1e-6)
    for ell in (0.5, 2.0, 5.0):
        assert mmd2_unbiased(x, y, ell) == pytest.approx(hand(ell), rel=1e-9)
    # The length-scale matters: ℓ = 0.5 (paper), 1, 5 (code default) give clearly different values.
    values = [mmd2_unbiased(x, y, ell) for ell in (0.5, 1.0, 5.0)]
    assert min(abs(a - b) for i, a in enumerate(values) for b in values[i + 1 :]) > 0.02
    assert mmd2_unbiased(x, y, 1.0) == mmd2_unbiased(y, x, 1.0)
    assert math.isnan(mmd2_unbiased(x[:1], y, 1.0))


def test_mmd_of_sample_with_itself_unclamped_and_clamped():
    """MMD²ᵤ(x, x) = −2(1 − e^{−1/2})/4 · 2 for x = {0, 1}: negative, so the clamp returns 0."""
    x = torch.tensor([[0.0], [1.0]])
    k = math.exp(-0.5)
    raw = 2 * k - 2 * (1 + 1 + 2 * k) / 4  # = −(1 − e^{−1/2})
    assert raw == pytest.approx(-(1 - k))
    assert mmd2_unbiased(x, x, 1.0, clamp=False) == pytest.approx(raw, rel=1e-12)
    assert mmd2_unbiased(x, x, 1.0) == 0.0
    # Any sample: 2·mean_{i≠j} k − 2·mean_{all} k < 0 (the diagonal ones enter only the cross term).
    z = torch.randn(30, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    gram = torch.exp(-torch.cdist(z, z).square() / 2)
    off = (gram.sum() - 30) / (30 * 29)
    expect = 2 * off - 2 * gram.mean()
    assert expect < 0
    assert mmd2_unbiased(z, z, 1.0, clamp=False) == pytest.approx(float(expect), rel=1e-10)


def test_mmd_same_distribution_near_zero_and_grows_with_shift():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(200, 3, generator=g)
    y = torch.randn(200, 3, generator=g)
    same = mmd2_unbiased(x, y, 1.0)
    assert same < 0.02
    shifted = [mmd2_unbiased(x, y + s, 1.0) for s in (0.5, 1.0, 2.0, 4.0)]
    assert same < shifted[0]
    assert all(a < b for a, b in zip(shifted, shifted[1:], strict=False))


def test_distance_implausibility_point_on_target_samples():
    # The target class has one sample repeated, so every draw is it: IP = mean distance to it.
    x_ref = torch.tensor([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]])
    y_ref = torch.tensor([1, 1, 0])
    cf = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    ip = distance_implausibility(
        cf, torch.tensor([1, 1]), x_ref, y_ref, generator=torch.Generator()
    )
    assert ip.tolist() == pytest.approx([0.0, 3.0])


def test_distance_implausibility_hand_computed_mean():
    # Point at a target sample; with many draws the IP is its mean ℓ1 distance to the class samples.
    x_ref = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [9.0, 9.0]])
    y_ref = torch.tensor([1, 1, 1, 0])
    cf = torch.tensor([[0.0, 0.0]])
    ip = distance_implausibility(
        cf,
        torch.tensor([1]),
        x_ref,
        y_ref,
        n_draws=200_000,
        generator=torch.Generator().manual_seed(0),
    )
    assert float(ip[0]) == pytest.approx((0.0 + 2.0 + 4.0) / 3, rel=1e-2)


def test_distance_implausibility_chunking_is_exact():
    g = torch.Generator().manual_seed(3)
    x_ref, y_ref = torch.randn(300, 784, generator=g), torch.randint(10, (300,), generator=g)
    cf, tgt = torch.randn(50, 784, generator=g), torch.randint(10, (50,), generator=g)
    a = distance_implausibility(cf, tgt, x_ref, y_ref, generator=torch.Generator().manual_seed(4))
    b = distance_implausibility(
        cf, tgt, x_ref, y_ref, generator=torch.Generator().manual_seed(4), chunk_size=7
    )
    torch.testing.assert_close(a, b)
    # Same target class, same draws: the IP difference is driven by the CE only.
    assert torch.isfinite(a).all() and (a > 0).all()


def test_divergence_implausibility_per_class():
    g = torch.Generator().manual_seed(5)
    x_ref = torch.cat([torch.randn(150, 2, generator=g), torch.randn(150, 2, generator=g) + 3])
    y_ref = torch.cat([torch.zeros(150), torch.ones(150)]).long()
    close = torch.randn(150, 2, generator=g) + 3
    far = torch.randn(150, 2, generator=g) - 3
    cf, tgt = torch.cat([close, far]), torch.cat([torch.ones(150), torch.zeros(150)]).long()
    ip = divergence_implausibility(
        cf, tgt, x_ref, y_ref, length_scale=1.0, generator=np.random.default_rng(5)
    )
    assert set(ip) == {0, 1}
    assert ip[1] < 0.05 < ip[0]


def test_accuracy_and_macro_f1():
    model = FixedLinear()
    x = torch.tensor([[2.0, 1.0], [0.0, 3.0], [3.0, 0.0], [1.0, 2.0]])
    y = torch.tensor([0, 1, 1, 1])
    assert accuracy(model, x, y) == 0.75
    # class 0: tp=1, fp=1, fn=0 → 2/3; class 1: tp=2, fp=0, fn=1 → 0.8
    assert macro_f1(model, x, y, 2) == pytest.approx((2 / 3 + 0.8) / 2)
