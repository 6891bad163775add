"""Tests for cftrain.attribution (method.md §6.2 "Integrated gradients")."""

import numpy as np
import pytest
import torch
from torch import nn

from cftrain.attribution import (
    integrated_gradients,
    protected_ig_rounds,
    random_baseline,
    standardise_attributions,
    summarise_rounds,
)
from cftrain.models import glorot_init_


def smooth_model():
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 3))
    return glorot_init_(model, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("output", ["logit", "probability"])
@pytest.mark.parametrize("rule", ["trapezoid", "right"])
def test_completeness(output, rule):
    model = smooth_model()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(16, 3, generator=g)
    baseline = random_baseline((16, 3), g)
    target = torch.randint(3, (16,), generator=g)
    ig = integrated_gradients(model, x, target, baseline, steps=200, output=output, rule=rule)
    with torch.no_grad():
        f = model(x) if output == "logit" else model(x).softmax(1)
        f0 = model(baseline) if output == "logit" else model(baseline).softmax(1)
    expected = (f - f0).gather(1, target[:, None]).squeeze(1)
    torch.testing.assert_close(ig.sum(1), expected, rtol=1e-2, atol=1e-3)
    assert all(p.grad is None for p in model.parameters())


def test_chunking_is_exact_and_linear_model_is_exact():
    model = glorot_init_(nn.Linear(3, 2), torch.Generator().manual_seed(0))
    x, b = torch.randn(10, 3, generator=torch.Generator().manual_seed(1)), torch.zeros(3)
    t = torch.ones(10, dtype=torch.long)
    a = integrated_gradients(model, x, t, b, steps=5)
    c = integrated_gradients(model, x, t, b, steps=5, max_rows=7)
    torch.testing.assert_close(a, c)
    torch.testing.assert_close(a, x * model.weight[1].detach())


def test_random_baseline_range():
    b = random_baseline((1000, 2), torch.Generator().manual_seed(0))
    assert b.min() >= -1 and b.max() <= 1 and b.shape == (1000, 2)


def test_standardisation():
    g = torch.tensor([-1.0, 1.0, 3.0])
    torch.testing.assert_close(standardise_attributions(g, False), torch.tensor([0.0, 0.5, 1.0]))
    g2 = torch.tensor([-1.0, 3.0])
    torch.testing.assert_close(standardise_attributions(g2, True), torch.tensor([0.25, 0.75]))


def test_protected_rounds_and_summary():
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.0, -1.0], [0.0, 1.0]]))
        model.bias.zero_()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(50, 2, generator=g)
    y = (x[:, 1] > 0).long()
    values = protected_ig_rounds(model, x, y, [0], rounds=5, n_samples=40, steps=4, generator=g)
    assert values.shape == (5,)
    np.testing.assert_allclose(values, 0.0, atol=1e-6)  # feature 0 has no weight: no attribution
    summary = summarise_rounds(np.arange(101.0))
    assert summary["median"] == 50 and summary["rounds"] == 101
    assert (summary["lower"], summary["upper"]) == pytest.approx((2.5, 97.5))
