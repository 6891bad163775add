"""Tests for cftrain.attacks (method.md §6.2 "Predictive performance")."""

import functools

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


def test_pgd_without_random_start_starts_at_x_and_draws_nothing():
    """`random_start=False` (PGD-AT's option): δ₀ = 0, so one step of α lands exactly on
    x + α·sign(w_other − w_y), and the generator is not drawn from."""
    x = torch.tensor([[0.3, -0.1, 1.0, 0.2], [1.0, 2.0, -1.0, 0.0]])
    y = torch.tensor([0, 1])
    w = _Linear.W
    sign = torch.stack([(w[1] - w[0]).sign(), (w[0] - w[1]).sign()])
    gen = torch.Generator().manual_seed(0)
    state = gen.get_state()
    x_adv = pgd(_Linear(), x, y, 0.05, steps=1, alpha=0.01, generator=gen, random_start=False)
    torch.testing.assert_close(x_adv, x + 0.01 * sign)
    assert torch.equal(gen.get_state(), state)


class _Line(torch.nn.Module):
    """1-D two-class model, logits (x, −x): class 0 iff x > 0. In train mode the logits flip sign,
    so an attack or a prediction made in the wrong mode shows."""

    def forward(self, x):
        logits = torch.cat([x, -x], dim=1)
        return -logits if self.training else logits


def _line_data():
    # 12 points at margin 0.45 (y = 0 at +0.45, y = 1 at −0.45) and 8 far points at ±2.
    near = torch.tensor([0.45, -0.45] * 6)
    far = torch.tensor([2.0, -2.0] * 4)
    x = torch.cat([near, far])[:, None]
    y = (x[:, 0] < 0).long()
    return x, y


def test_robust_accuracy_pgd_uses_steps_alpha_and_generator():
    """ε = 0.5: one step of α = 1 ends every point at x + ε·sign (all 12 near points flip);
    zero steps leave the random start δ₀ = (2u − 1)ε, u ~ U(0, 1) from the generator."""
    x, y = _line_data()
    model = _Line().eval()
    one = robust_accuracy(model, x, y, [0.5], "pgd", steps=1, alpha=1.0, generator=torch.Generator().manual_seed(4))  # fmt: skip
    assert one["attack"].tolist() == ["pgd"] and one["eps"].tolist() == [0.5]
    assert one["accuracy"].iloc[0] == 8 / 20
    u = torch.rand(x.shape, generator=torch.Generator().manual_seed(4))
    moved = x + (2 * u - 1) * 0.5
    expected = int(((moved[:, 0] > 0) == (y == 0)).sum()) / 20
    assert 8 / 20 < expected < 1.0  # some, not all, near points flipped by the start alone
    zero = robust_accuracy(model, x, y, [0.5], "pgd", steps=0, alpha=1.0, generator=torch.Generator().manual_seed(4))  # fmt: skip
    assert zero["accuracy"].iloc[0] == expected
    # pgd itself: one step of α = 0.01 from the same start, clipped to the ε-ball, by hand.
    step = pgd(model, x, y, 0.5, steps=1, alpha=0.01, generator=torch.Generator().manual_seed(4))
    direction = torch.where(y == 0, -1.0, 1.0)[:, None]  # sign ∇ₓCE pushes towards the other class
    torch.testing.assert_close(step, x + ((2 * u - 1) * 0.5 + 0.01 * direction).clamp(-0.5, 0.5))


def test_robust_accuracy_eval_mode_callable_and_errors():
    x, y = _line_data()
    model = _Line().train()
    # FGSM at ε = 0.5 in eval mode flips every near point; the model's train mode is restored.
    table = robust_accuracy(model, x, y, [0.0, 0.5])
    assert model.training
    assert table["attack"].tolist() == ["fgsm", "fgsm"]
    assert table["eps"].tolist() == [0.0, 0.5] and table["accuracy"].tolist() == [1.0, 8 / 20]
    default = robust_accuracy(model.eval(), x, y)
    assert default["eps"].tolist() == pytest.approx([i / 90 for i in range(10)])

    def shift_right(m, xb, yb, eps):
        return xb + 4 * eps

    custom = robust_accuracy(model, x, y, [0.25], shift_right, batch_size=3)
    assert custom["attack"].tolist() == ["shift_right"]
    assert custom["accuracy"].iloc[0] == 14 / 20  # x + 1: the six near points of class 1 cross 0
    anonymous = robust_accuracy(model, x, y, [0.0], functools.partial(shift_right))
    assert anonymous["attack"].tolist() == ["custom"]
    with pytest.raises(
        ValueError, match=r"^pgd needs an explicit torch.Generator for its random start$"
    ):
        robust_accuracy(model, x, y, [0.1], "pgd")
    with pytest.raises(ValueError, match=r"^unknown attack 'cw': use 'fgsm', 'pgd' or a callable$"):
        robust_accuracy(model, x, y, [0.1], "cw")


def test_pgd_defaults_40_steps_of_001_by_hand():
    """ε = 2, on the 1-D line: δ = δ₀ + 40·0.01·sign(∇) (never clipped here). The two points are
    placed from the replayed start δ₀ so that 40 steps end 0.005 short of the boundary: one more
    step, or a larger α, would flip them."""
    seed = 6
    u = torch.rand((2, 1), generator=torch.Generator().manual_seed(seed))
    d0 = (2 * u - 1) * 2.0
    y = torch.tensor([0, 1])
    direction = torch.tensor([[-1.0], [1.0]])  # towards the other class
    assert (d0 - 0.41 > -2).all() and (d0 + 0.41 < 2).all()  # no clipping on the way
    x = torch.tensor([[0.405], [-0.405]]) - d0
    model = _Line().eval()
    end = pgd(model, x, y, 2.0, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(end, x + d0 + 0.4 * direction)
    table = robust_accuracy(
        model, x, y, [2.0], "pgd", generator=torch.Generator().manual_seed(seed)
    )
    assert table["accuracy"].iloc[0] == 1.0  # both end 0.005 on their own side


def test_fgsm_int_labels_and_zero_gradient_feature():
    """int32 labels work as int64 ones; a feature no logit depends on has ∇ = 0 and stays put."""
    model = torch.nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -1.0, 0.0], [-1.0, 2.0, 0.0]]))
        model.bias.zero_()
    x = torch.tensor([[0.5, 0.5, 7.0]])
    expected = x + 0.1 * torch.tensor([[-1.0, 1.0, 0.0]])  # sign(w₁ − w₀) for y = 0
    torch.testing.assert_close(fgsm(model, x, torch.tensor([0], dtype=torch.int32), 0.1), expected)


def test_robust_accuracy_passes_int64_labels_to_the_attack():
    x, y = _line_data()
    seen = []

    def spy(m, xb, yb, eps):
        seen.append(yb.dtype)
        return xb

    table = robust_accuracy(_Line().eval(), x, y.to(torch.int32), [0.0], spy)
    assert seen == [torch.int64] and table["accuracy"].iloc[0] == 1.0


def test_pgd_int_labels_and_label_count_mismatch():
    model = torch.nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -1.0, 0.0], [-1.0, 2.0, 0.0]]))
        model.bias.zero_()
    x = torch.tensor([[0.5, 0.5, 7.0]])
    a = pgd(model, x, torch.tensor([0], dtype=torch.int32), 0.1, steps=3, generator=torch.Generator().manual_seed(1))  # fmt: skip
    b = pgd(model, x, torch.tensor([0]), 0.1, steps=3, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)
    xs, ys = _line_data()
    with pytest.raises(ValueError, match="zip"):  # 2 batches of x, 1 of y: no silent truncation
        robust_accuracy(_Line().eval(), xs, ys[:10], [0.0], batch_size=10)


class _Square(torch.nn.Module):
    """Logits (z₀², −z₀²) of the first feature only: for y = 0, ∂CE/∂z₀ = −4z₀(1 − σ(2z₀²)), so
    sign ∇ = −sign(z₀) flips across 0; the second feature has ∇ = 0."""

    def forward(self, x):
        s = x[:, :1] ** 2
        return torch.cat([s, -s], dim=1)


def test_pgd_gradient_taken_at_the_perturbed_point_float64():
    """One step from the start δ₀ (float64 noise for float64 x): δ₁ = clip(δ₀ − α·sign(x₀ + δ₀₀))
    on feature 0, where |δ₀₀| > |x₀| so the sign at x + δ₀ differs from the sign at x − δ₀;
    feature 1 (zero gradient) keeps δ₀."""
    x = torch.tensor([[0.01, 3.0], [-0.01, -3.0]], dtype=torch.float64)
    y = torch.tensor([0, 0])
    u = torch.rand(x.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    d0 = (2 * u - 1) * 0.5
    assert (d0[:, 0].abs() > 0.01).all()
    at = x[:, 0] + d0[:, 0]
    expected = x.clone()
    expected[:, 0] = x[:, 0] + (d0[:, 0] - 0.1 * torch.sign(at)).clamp(-0.5, 0.5)
    expected[:, 1] = x[:, 1] + d0[:, 1]
    out = pgd(_Square(), x, y, 0.5, steps=1, alpha=0.1, generator=torch.Generator().manual_seed(3))
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, expected)
