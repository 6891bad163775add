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


class _Linear(torch.nn.Module):
    """Two-class linear model with hand-picked rows w_0, w_1 and bias."""

    W = torch.tensor([[1.0, -2.0, 0.5, 0.0], [-0.5, 1.0, -0.25, 3.0]])

    def forward(self, x):
        return x @ self.W.T + torch.tensor([0.2, -0.1])


def test_fgsm_direction_on_linear_model():
    """∇ₓ CE = Σ_k p_k w_k − w_y = p_other (w_other − w_y): FGSM moves x + ε·sign(w_other − w_y)."""
    x = torch.tensor([[0.3, -0.1, 1.0, 0.2], [1.0, 2.0, -1.0, 0.0]])
    y = torch.tensor([0, 1])
    w = _Linear.W
    expected = torch.stack([x[0] + 0.05 * (w[1] - w[0]).sign(), x[1] + 0.05 * (w[0] - w[1]).sign()])
    torch.testing.assert_close(fgsm(_Linear(), x, y, 0.05), expected)


def test_pgd_direction_on_linear_model():
    """On a linear model the gradient sign is constant, so PGD ends at x + ε·sign(w_other − w_y)
    on every feature, whatever the random start (steps·α ≥ 2ε)."""
    x = torch.tensor([[0.3, -0.1, 1.0, 0.2], [1.0, 2.0, -1.0, 0.0]])
    y = torch.tensor([0, 1])
    w = _Linear.W
    sign = torch.stack([(w[1] - w[0]).sign(), (w[0] - w[1]).sign()])
    x_adv = pgd(
        _Linear(), x, y, 0.05, steps=20, alpha=0.01, generator=torch.Generator().manual_seed(0)
    )
    assert (sign != 0).all()
    torch.testing.assert_close(x_adv, x + 0.05 * sign)
