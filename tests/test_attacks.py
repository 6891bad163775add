"""Tests for cftrain.attacks (method.md §6.2 "Predictive performance")."""

import pytest
import torch

from cftrain.attacks import DEFAULT_EPS, fgsm, pgd, robust_accuracy
from cftrain.metrics import accuracy
from cftrain.models import build_model


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 4, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    model = build_model("mlp", 4, 2, seed=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(100):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    opt.zero_grad(set_to_none=True)
    return model, x, y


def test_eps_zero_equals_clean_accuracy(data):
    model, x, y = data
    clean = accuracy(model, x, y)
    torch.testing.assert_close(fgsm(model, x, y, 0.0), x)
    torch.testing.assert_close(pgd(model, x, y, 0.0, generator=torch.Generator()), x)
    for attack in ("fgsm", "pgd"):
        table = robust_accuracy(model, x, y, [0.0], attack, generator=torch.Generator())
        assert table["accuracy"].iloc[0] == clean


def test_pgd_stays_in_eps_ball_and_no_param_grads(data):
    model, x, y = data
    for eps in (0.01, 0.05, 0.3):
        x_adv = pgd(
            model, x, y, eps, steps=20, alpha=0.05, generator=torch.Generator().manual_seed(2)
        )
        assert (x_adv - x).abs().max() <= eps + 1e-6
    assert all(p.grad is None for p in model.parameters())


def test_attacks_reduce_accuracy_and_pgd_is_reproducible(data):
    model, x, y = data
    table = robust_accuracy(model, x, y, attack="fgsm")
    assert len(table) == len(DEFAULT_EPS) == 10
    assert table["accuracy"].iloc[-1] < table["accuracy"].iloc[0]
    a = pgd(model, x, y, 0.1, generator=torch.Generator().manual_seed(7))
    b = pgd(model, x, y, 0.1, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a, b)
    assert accuracy(model, a, y) <= accuracy(model, fgsm(model, x, y, 0.1), y) + 0.02


def test_batching_does_not_change_result(data):
    model, x, y = data
    full = robust_accuracy(model, x, y, [0.1], "fgsm")
    batched = robust_accuracy(model, x, y, [0.1], "fgsm", batch_size=17)
    assert full["accuracy"].iloc[0] == batched["accuracy"].iloc[0]
