"""Mutability codes, step masks, neighbour protection and the domain box (method.md §2, §4), by hand."""

import numpy as np
import pytest
import torch

from cftrain.constraints import (
    BOTH,
    DECREASE,
    INCREASE,
    NONE,
    apply_mutability,
    infer_domain,
    mutability_vector,
    protect_immutable_neighbours,
)


def test_mutability_vector_codes_and_errors():
    codes = mutability_vector(5)
    assert codes.dtype == np.int8 and codes.tolist() == [BOTH] * 5
    codes = mutability_vector(
        5, protected=(0, 4), rules={2: "increase", "3": "decrease", 1: "both"}
    )
    assert codes.tolist() == [NONE, BOTH, INCREASE, DECREASE, NONE]
    assert mutability_vector(3, protected=np.array([1]), rules={0: "none"}).tolist() == [NONE, NONE, BOTH]  # fmt: skip
    for bad in (5, -1):
        with pytest.raises(ValueError, match=rf"^protected feature index {bad} outside 0\.\.4$"):
            mutability_vector(5, protected=(bad,))
    with pytest.raises(ValueError, match=r"^mutability 'up' for feature 1: use one of \['both', 'decrease', 'increase', 'none'\]$"):  # fmt: skip
        mutability_vector(5, rules={1: "up"})


def test_apply_mutability_masks_each_code():
    delta = torch.tensor([[1.5, -2.0, 3.0, -4.0], [-1.0, 2.0, -3.0, 4.0]], dtype=torch.float64)
    codes = torch.tensor([NONE, BOTH, INCREASE, DECREASE], dtype=torch.int8)
    out = apply_mutability(delta, codes)
    expected = torch.tensor([[0.0, -2.0, 3.0, -4.0], [0.0, 2.0, 0.0, 0.0]], dtype=torch.float64)
    assert out.dtype == torch.float64
    assert torch.equal(out, expected)
    assert apply_mutability(delta, None) is delta
    # Zero steps stay zero under every code (no sign flip of ±0 matters for the search).
    assert torch.equal(apply_mutability(torch.zeros(1, 4), codes), torch.zeros(1, 4))


def test_protect_immutable_neighbours_by_hand():
    cf = torch.tensor([[1.0, 1.0, 1.0, 1.0], [5.0, 5.0, 5.0, 5.0]])
    nb = torch.tensor([[3.0, 3.0, 3.0, 3.0], [2.0, 2.0, 2.0, 2.0]])
    codes = torch.tensor([NONE, BOTH, INCREASE, DECREASE], dtype=torch.int8)
    out = protect_immutable_neighbours(nb, cf, codes)
    # none → x′; both → x⁺; increase → max(x′, x⁺); decrease → min(x′, x⁺)
    assert torch.equal(out, torch.tensor([[1.0, 3.0, 3.0, 1.0], [5.0, 2.0, 5.0, 2.0]]))
    assert protect_immutable_neighbours(nb, cf, None) is nb


def test_infer_domain_hand_values():
    # Column 0: 0, 2, 4 → μ = 2, σ (ddof=1) = 2. Column 1: 0, 0, 9 → μ = 3, σ = √27.
    x = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 9.0]])
    lower, upper = infer_domain(x)  # default k = 2 (the code's value)
    s = 27**0.5
    np.testing.assert_allclose(lower, [2 - 4, 3 - 2 * s], rtol=1e-6)
    np.testing.assert_allclose(upper, [2 + 4, 3 + 2 * s], rtol=1e-6)
    assert lower.dtype == np.float32 and upper.dtype == np.float32
    # k = 0.5: the box is widened to the data where μ ± kσ falls inside it.
    lower, upper = infer_domain(x, 0.5)
    np.testing.assert_allclose(lower, [0.0, 0.0], atol=1e-7)  # min(1, 0), min(3 − √27/2, 0)
    np.testing.assert_allclose(upper, [4.0, 9.0], rtol=1e-6)  # max(3, 4), max(3 + √27/2, 9)
    lower, upper = infer_domain([[1, 0], [3, 0]], 1.0)  # plain lists, ints: μ = 2, σ = √2
    np.testing.assert_allclose(lower, [2 - 2**0.5, 0.0], rtol=1e-6)
    np.testing.assert_allclose(upper, [2 + 2**0.5, 0.0], rtol=1e-6)


def test_search_step_mask_equals_apply_mutability():
    """The search's precomputed mask (`search._StepMask`) is `apply_mutability`, value for value."""
    from cftrain.search import _StepMask

    g = torch.Generator().manual_seed(0)
    for codes in ([NONE, BOTH, INCREASE, DECREASE] * 2, [BOTH] * 8, [INCREASE, DECREASE] * 4):
        codes = torch.tensor(codes, dtype=torch.int8)
        delta = torch.randn(5, 8, generator=g)
        assert torch.equal(_StepMask(codes)(delta.clone()), apply_mutability(delta, codes))


def test_infer_domain_statistics_in_float64():
    """float32 data far from 0: μ ± kσ computed in float64 (then cast), not in float32."""
    x = (1000.0 + np.random.default_rng(0).normal(size=(200, 1))).astype(np.float32)
    v = [float(a) for a in x[:, 0]]
    mean = sum(v) / len(v)
    sd = (sum((a - mean) ** 2 for a in v) / (len(v) - 1)) ** 0.5
    lower, upper = infer_domain(x, 3.0)  # k = 3: μ ± 3σ lies outside the data, so it binds
    assert lower[0] == np.float32(mean - 3 * sd) < x.min()
    assert upper[0] == np.float32(mean + 3 * sd) > x.max()
