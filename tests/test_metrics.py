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
    mean_l1_distance,
    mmd2_unbiased,
    predict_labels,
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


def _mmd_loops(a, b, ell):
    """Unbiased MMD² with plain loops (independent of cftrain.metrics)."""
    k = lambda p, q: math.exp(-sum((u - v) ** 2 for u, v in zip(p, q, strict=True)) / (2 * ell**2))  # noqa: E731
    m, n = len(a), len(b)
    xx = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    return xx + yy - 2 * sum(k(p, q) for p in a for q in b) / (m * n)


class _FlipInTrain(nn.Module):
    """FixedLinear in eval mode; reversed logits in train mode (a prediction in the wrong mode shows)."""

    def forward(self, x):
        logits = torch.stack([x[:, 0], x[:, 1]], dim=1)
        return -logits if self.training else logits


def test_predictions_in_eval_mode_and_mode_restored():
    model = _FlipInTrain().train()
    x = torch.tensor([[2.0, 1.0], [0.0, 3.0], [3.0, 0.0]])
    assert predict_labels(model, x).tolist() == [0, 1, 0] and model.training
    assert predict_labels(model, x, batch_size=1).tolist() == [0, 1, 0]
    assert validity(model, x, torch.tensor([0, 0, 0], dtype=torch.int32)).tolist() == [True, False, True]  # fmt: skip
    assert accuracy(model, x, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    assert model.training
    model.eval()
    assert predict_labels(model, x).tolist() == [0, 1, 0] and not model.training


def test_mean_l1_distance_hand_values():
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    ref = torch.tensor([[3.0, 0.0], [0.0, 0.0]])
    # distances: row 0 → (3, 0), row 1 → (3, 2)
    assert mean_l1_distance(x, ref).tolist() == pytest.approx([1.5, 2.5])
    weighted = mean_l1_distance(x, ref, torch.tensor([1.0, 3.0]), chunk_size=1)
    assert weighted.tolist() == pytest.approx([0.75, 3 * 0.25 + 2 * 0.75])
    assert mean_l1_distance(x[:0], ref).shape == (0,)


def test_distance_implausibility_default_draws_and_missing_class():
    """n_draws = 1000 with replacement from the target class, replayed from the same seed."""
    x_ref = torch.tensor([[0.0, 0.0], [4.0, 0.0], [9.0, 9.0]])
    y_ref = torch.tensor([1, 1, 0])
    cf = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    ip = distance_implausibility(cf, torch.tensor([1, 1]), x_ref, y_ref, generator=torch.Generator().manual_seed(2))  # fmt: skip
    n_b = int((torch.randint(2, (1000,), generator=torch.Generator().manual_seed(2)) == 1).sum())
    assert 0 < n_b < 1000
    expected = [4 * n_b / 1000, (2 * (1000 - n_b) + 4 * n_b) / 1000]  # ‖(1,1)−(4,0)‖₁ = 4
    assert ip.tolist() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match=r"^no reference samples of target class 2$"):
        distance_implausibility(cf, torch.tensor([1, 2]), x_ref, y_ref, generator=torch.Generator())


def test_divergence_implausibility_defaults_and_subsample_boundary():
    """Defaults n_samples = 100, ℓ = 5: 101 CEs of class 1 are subsampled (the first 100 of a numpy
    permutation); every side draws one permutation, also when it has at most n_samples rows."""
    ces = torch.tensor([[float(i) / 10, 0.0] for i in range(101)])
    ref = torch.tensor([[0.0, 1.0], [3.0, 1.0]])
    out = divergence_implausibility(ces, torch.ones(101, dtype=torch.long), ref, torch.tensor([1, 1]), generator=np.random.default_rng(0))  # fmt: skip
    keep = np.random.default_rng(0).permutation(101)[:100].tolist()
    hand = _mmd_loops([ces[i].tolist() for i in keep], ref.tolist(), 5.0)
    assert set(out) == {1} and out[1] == pytest.approx(max(hand, 0.0), rel=1e-9)
    assert hand > 0
    # n_samples = 2, classes in ascending order, CEs first: class 0 permutes its 2 CEs and keeps 2
    # of its 3 references; class 1 keeps 2 of its 3 CEs and permutes its 2 references.
    ces = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0], [7.0, 5.0]])
    target = torch.tensor([0, 0, 1, 1, 1])
    x_ref = torch.tensor([[0.0, 1.0], [2.0, 0.0], [4.0, 4.0], [5.0, 6.0], [9.0, 9.0]])
    y_ref = torch.tensor([0, 0, 0, 1, 1])
    out = divergence_implausibility(ces, target, x_ref, y_ref, n_samples=2, length_scale=1.0, generator=np.random.default_rng(3))  # fmt: skip
    g = np.random.default_rng(3)
    g.permutation(2)
    r0 = g.permutation(3)[:2].tolist()
    c1 = g.permutation(3)[:2].tolist()
    expected0 = _mmd_loops(ces[:2].tolist(), [x_ref[i].tolist() for i in r0], 1.0)
    expected1 = _mmd_loops([ces[2 + i].tolist() for i in c1], x_ref[3:].tolist(), 1.0)
    assert out[0] == pytest.approx(max(expected0, 0.0), rel=1e-9)
    assert out[1] == pytest.approx(max(expected1, 0.0), rel=1e-9)


def test_mmd_needs_two_samples_per_side_and_macro_f1_empty_class():
    x = torch.tensor([[0.0], [1.0]])
    assert math.isnan(mmd2_unbiased(x, x[:1], 1.0)) and math.isnan(mmd2_unbiased(x[:1], x, 1.0))
    assert mmd2_unbiased(x, x + 3, 1.0) > 0  # two per side is enough
    model = FixedLinear()
    xs = torch.tensor([[2.0, 1.0], [0.0, 3.0], [3.0, 0.0], [1.0, 2.0]])
    y = torch.tensor([0, 1, 1, 1])
    # class 2: no support, never predicted → F1 0, averaged in (zero_division = 0)
    assert macro_f1(model, xs, y, 3) == pytest.approx((2 / 3 + 0.8 + 0.0) / 3)


def test_mean_l1_distance_dtypes_and_more_references_than_features():
    """float64 CEs: uniform weights 1/3 in float64 (3 references, 2 features); float64 weights
    with float32 CEs are cast to the CEs' dtype."""
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    ref = torch.tensor([[3.0, 0.0], [0.0, 0.0], [0.1, 0.2]], dtype=torch.float64)
    out = mean_l1_distance(x, ref)
    assert out.dtype == torch.float64
    assert out.tolist() == pytest.approx([(3 + 0 + 0.3) / 3, (3 + 2 + 1.7) / 3], rel=1e-14)
    w = torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64)
    out32 = mean_l1_distance(x.float(), ref.float(), w)
    assert out32.dtype == torch.float32
    assert out32.tolist() == pytest.approx([(3 + 0 + 0.6) / 4, (3 + 2 + 3.4) / 4], rel=1e-6)


def test_distance_implausibility_float64_weights():
    """float64 CEs: the draw counts become float64 weights (n/1000 is not exact in float32)."""
    x_ref = torch.tensor([[0.0, 0.0], [4.0, 0.0], [9.0, 9.0]], dtype=torch.float64)
    y_ref = torch.tensor([1, 1, 0])
    cf = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    ip = distance_implausibility(cf, torch.tensor([1]), x_ref, y_ref, generator=torch.Generator().manual_seed(2))  # fmt: skip
    n_b = int((torch.randint(2, (1000,), generator=torch.Generator().manual_seed(2)) == 1).sum())
    assert ip.dtype == torch.float64
    assert ip.item() == pytest.approx((2 * (1000 - n_b) + 4 * n_b) / 1000, rel=1e-14)


def test_macro_f1_with_uint8_labels_and_many_classes():
    """Labels stored as uint8 (as image data sets often ship them) with K = 17 classes: y·K + pred
    must be formed in int64 (16·17 = 272 does not fit in uint8). Predictions 16, 0, 0 against labels
    16, 16, 0: class 16 has tp 1, fn 1 → F1 2/3; class 0 has tp 1, fp 1 → 2/3; 15 empty classes → 0."""
    model = nn.Identity()  # logits = x: one-hot rows predict their hot class
    x = torch.nn.functional.one_hot(torch.tensor([16, 0, 0]), 17).float()
    y8 = torch.tensor([16, 16, 0], dtype=torch.uint8)
    expected = (2 / 3 + 2 / 3) / 17
    assert macro_f1(model, x, y8, 17) == pytest.approx(expected, rel=1e-12)
    assert macro_f1(model, x, y8.long(), 17) == pytest.approx(expected, rel=1e-12)


def test_distance_implausibility_ignores_samples_never_drawn():
    """IP is the mean over the drawn samples only: with one draw (seed 0 draws index 0, replayed
    below) the class-1 sample at (3e38, 3e38), whose ℓ1 distance overflows float32, never enters."""
    assert torch.randint(2, (1,), generator=torch.Generator().manual_seed(0)).item() == 0
    x_ref = torch.tensor([[0.0, 0.0], [3e38, 3e38], [5.0, 5.0]])
    y_ref = torch.tensor([1, 1, 0])
    cf = torch.tensor([[1.0, 0.0]])
    ip = distance_implausibility(cf, torch.tensor([1]), x_ref, y_ref, n_draws=1, generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert ip.tolist() == [1.0]


def test_distance_implausibility_bounds_the_distance_block_by_chunk_size(monkeypatch):
    """`chunk_size` reaches the ℓ1 distance: every torch.cdist block has at most that many CE rows
    (5 CEs of one target class in chunks of 2: blocks of 2, 2, 1 rows), and the values are those
    of the unchunked call."""
    x_ref = torch.tensor([[0.0, 0.0], [4.0, 0.0], [9.0, 9.0]])
    y_ref = torch.tensor([1, 1, 0])
    cf = torch.arange(10.0).reshape(5, 2)
    whole = distance_implausibility(cf, torch.ones(5, dtype=torch.long), x_ref, y_ref, generator=torch.Generator().manual_seed(2))  # fmt: skip
    rows = []
    cdist = torch.cdist

    def spy(a, b, *args, **kwargs):
        rows.append(a.shape[0])
        return cdist(a, b, *args, **kwargs)

    monkeypatch.setattr(torch, "cdist", spy)
    chunked = distance_implausibility(cf, torch.ones(5, dtype=torch.long), x_ref, y_ref, generator=torch.Generator().manual_seed(2), chunk_size=2)  # fmt: skip
    assert rows == [2, 2, 1]
    assert chunked.tolist() == whole.tolist()
