"""Generators of method.md §3 by hand values: ECCo's penalty and gradient, Generic, REVISE/VAE."""

import pytest
import torch
from torch import nn

from cftrain.generators import REVISE, ECCo, Generic, build_generator, energy_schedule
from cftrain.search import search_counterfactuals
from cftrain.vae import VAE, train_vae, vae_size

W = torch.tensor([[1.0, -2.0], [0.5, 1.0]])
B = torch.tensor([0.1, -0.2])


class Lin(nn.Module):
    def forward(self, x):
        return x @ W.T + B


def test_ecco_penalty_hand_value():
    # T = 50: b = 2, a = 0.2; step 3 → t = 4, φ = 0.2·(2 + 4)^−0.9.
    phi = 0.2 * 6**-0.9
    factual = torch.tensor([[0.0, 0.0], [1.0, 0.5]])
    x_cf = torch.tensor([[1.0, 2.0], [-1.0, 3.0]])
    target = torch.tensor([1, 0])
    # E = −logit: row 0 target 1: 0.5 + 2 − 0.2 = 2.3 → E = −2.3; row 1 target 0: −1 − 6 + 0.1 = −6.9
    energy = [-2.3, 6.9]
    l1 = [3.0, 4.5]  # |−1 − 1| + |3 − 0.5|
    gen = ECCo(lambda_cost=0.01, lambda_energy=5.0)
    pen = gen.penalty(x_cf, factual, Lin()(x_cf), target, 3, 50)
    expected = [0.01 * l1[i] + 5.0 * phi * (energy[i] + 1e-3 * energy[i] ** 2) for i in range(2)]
    assert pen.tolist() == pytest.approx(expected, rel=1e-6)
    # The energy part alone, and its sign: low energy (high target logit) is rewarded.
    only = ECCo(lambda_cost=0.0, lambda_energy=5.0).penalty(
        x_cf, factual, Lin()(x_cf), target, 3, 50
    )
    assert only[0] < 0 < only[1]
    # T = 5 switches the energy term off (φ ≡ 0): only the ℓ1 part remains.
    pen5 = gen.penalty(x_cf, factual, Lin()(x_cf), target, 3, 5)
    assert pen5.tolist() == pytest.approx([0.03, 0.045])
    # No penalty at all: zeros of the input's row count and dtype.
    x3 = torch.ones(3, 2, dtype=torch.float64)
    none = ECCo(lambda_cost=0.0, lambda_energy=5.0)
    zero = none.penalty(x3, x3, Lin()(x3.float()), torch.tensor([0, 1, 0]), 0, 5)
    assert zero.shape == (3,) and zero.dtype == torch.float64 and (zero == 0).all()


def test_ecco_without_cost_weight_skips_the_distance_term():
    """λ_cost = 0 switches the ℓ1 term off instead of adding 0·‖x′ − x‖₁: a non-finite feature of
    x′ (0·∞ = NaN) leaves the penalty finite, with and without the energy term (T = 50 vs T = 5)."""
    x_cf = torch.tensor([[float("inf"), 0.0], [1.0, 2.0]])
    factual = torch.zeros(2, 2)
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0]])  # E = −logit[target]: −2 and −1
    target = torch.tensor([1, 0])
    gen = ECCo(lambda_cost=0.0, lambda_energy=5.0)
    assert gen.penalty(x_cf, factual, logits, target, 0, 5).tolist() == [0.0, 0.0]
    phi = 0.2 * 3**-0.9  # T = 50: b = 2, a = 0.2; step 0 → t = 1
    expected = [5.0 * phi * (e + 1e-3 * e**2) for e in (-2.0, -1.0)]
    assert gen.penalty(x_cf, factual, logits, target, 0, 50).tolist() == pytest.approx(expected, rel=1e-6)  # fmt: skip


def test_energy_schedule_length_dependence():
    """b = round(T/25): T = 63 → b = 3, a = 0.3 (T/26 would give b = 2); T = 12 → b = 0, φ ≡ 0."""
    assert energy_schedule(0, 63) == pytest.approx(0.3 * 4**-0.9)
    assert energy_schedule(10, 63) == pytest.approx(0.3 * 14**-0.9)
    assert energy_schedule(0, 12) == 0.0
    assert energy_schedule(0, 13) == pytest.approx(0.1 * 2**-0.9)


def test_ecco_penalty_gradient_on_linear_model():
    """∂/∂x′ of λφ(E + rE²) with E = −(W[y⁺]·x′ + b[y⁺]) is −λφ(1 + 2rE)·W[y⁺]; ℓ1 part λ_c·sign."""
    phi = 0.1 * 2**-0.9  # T = 30, step 0
    factual = torch.tensor([[0.0, 0.0]])
    x_cf = torch.tensor([[1.0, 2.0]], requires_grad=True)
    target = torch.tensor([1])
    gen = ECCo(lambda_cost=0.01, lambda_energy=5.0)
    gen.penalty(x_cf, factual, Lin()(x_cf), target, 0, 30).sum().backward()
    energy = -2.3
    expected = -5.0 * phi * (1 + 2e-3 * energy) * W[1] + 0.01 * torch.tensor([1.0, 1.0])
    torch.testing.assert_close(x_cf.grad[0], expected, rtol=1e-6, atol=1e-7)


def test_generic_penalty_and_build_generator():
    factual = torch.zeros(1, 2)
    x_cf = torch.tensor([[1.0, -2.0]])
    pen = Generic(lambda_cost=0.5).penalty(x_cf, factual, None, None, 0, 30)
    assert pen.tolist() == [1.5]
    g = build_generator("ecco", lambda_cost=0.2, lambda_energy=3.0)
    assert isinstance(g, ECCo) and g.params() == {"lambda_cost": 0.2, "lambda_energy": 3.0}
    assert build_generator("generic", lambda_cost=0.2).params() == {"lambda_cost": 0.2}
    with pytest.raises(ValueError, match=r"^generator 'revise' needs a trained VAE"):
        build_generator("revise")
    # Defaults: λ_cost 0.001, λ_egy 5.0 (method.md §3 table).
    assert build_generator("ecco").params() == {"lambda_cost": 0.001, "lambda_energy": 5.0}
    assert build_generator("generic").params() == {"lambda_cost": 0.001}
    vae = VAE(2, 2, 16)
    revise = build_generator("revise", lambda_cost=0.2, vae=vae)
    assert isinstance(revise, REVISE) and revise.vae is vae
    assert revise.params() == {"lambda_cost": 0.2, "latent_dim": 2}
    assert build_generator("revise", vae=vae).lambda_cost == 0.001
    with pytest.raises(ValueError, match="unknown generator 'wachterr'"):
        build_generator("wachterr")
    # A spec {name, **params}: missing parameters take the class defaults, unknown ones are errors.
    assert build_generator({"name": "ecco", "lambda_cost": 0.0}) == ECCo(0.0, 5.0)
    assert build_generator({"name": "ecco"}, lambda_energy=1.0) == ECCo(0.001, 1.0)
    with pytest.raises(ValueError, match=r"'generic' has no parameter\(s\) lambda_energy"):
        build_generator({"name": "generic", "lambda_energy": 1.0})


def test_revise_penalty_hand_value():
    factual = torch.zeros(2, 2)
    x_cf = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    pen = REVISE(vae=VAE(2, 2, 16), lambda_cost=0.1).penalty(x_cf, factual, None, None, 0, 30)
    assert pen.tolist() == pytest.approx([0.3, 0.05])


def _vae_and_data():
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(60, 2, generator=g) - 2, torch.randn(60, 2, generator=g) + 2])
    vae, history = train_vae(x, seed=1, epochs=5)
    return vae, x, history


def test_vae_shapes_and_seeded_determinism():
    assert vae_size(2) == (2, 16) and vae_size(5) == (4, 32)
    vae, x, history = _vae_and_data()
    again, _, history2 = _vae_and_data()
    assert history == history2 and len(history) == 5
    for a, b in zip(vae.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    mu, log_sigma = vae.encode(x[:7])
    assert mu.shape == log_sigma.shape == (7, 2)
    z1 = vae.encode_sample(x[:7], torch.Generator().manual_seed(3))
    z2 = vae.encode_sample(x[:7], torch.Generator().manual_seed(3))
    assert torch.equal(z1, z2) and not torch.equal(z1, mu)
    assert vae.decode(z1).shape == (7, 2)
    assert VAE(5, 4, 32).decode(torch.zeros(3, 4)).shape == (3, 5)


def test_revise_search_is_seeded_and_stays_in_box():
    vae, x, _ = _vae_and_data()
    model = Lin()
    factual = x[:10]
    target = 1 - model(factual).argmax(1)
    lower, upper = (
        torch.full((2,), -0.1),
        torch.full((2,), 0.2),
    )  # decoded points span ≈ [−0.2, 0.5]
    gen = REVISE(vae=vae, lambda_cost=0.001)
    assert gen.latent and gen.params() == {"lambda_cost": 0.001, "latent_dim": 2}
    run = lambda seed: search_counterfactuals(  # noqa: E731
        model, factual, target, gen, max_iter=20, tau=0.9, lower=lower, upper=upper,
        rng=torch.Generator().manual_seed(seed),
    )  # fmt: skip
    a, b, c = run(5), run(5), run(6)
    assert torch.equal(a.counterfactual, b.counterfactual)
    assert not torch.equal(a.counterfactual, c.counterfactual)
    assert a.counterfactual.shape == factual.shape
    assert (a.counterfactual >= lower).all() and (a.counterfactual <= upper).all()
    # The box is active on both sides (decoded points reach beyond it), and each bound works alone.
    free = search_counterfactuals(model, factual, target, gen, max_iter=20, tau=0.9,
                                  rng=torch.Generator().manual_seed(5))  # fmt: skip
    assert (free.counterfactual < lower).any() and (free.counterfactual > upper).any()
    for lo, up in ((lower, None), (None, upper)):
        one = search_counterfactuals(model, factual, target, gen, max_iter=20, tau=0.9, lower=lo,
                                     upper=up, rng=torch.Generator().manual_seed(5))  # fmt: skip
        if lo is not None:
            assert (one.counterfactual >= lo).all() and (one.counterfactual > upper).any()
        else:
            assert (one.counterfactual <= up).all() and (one.counterfactual < lower).any()


def test_revise_starts_from_a_seeded_encoding_and_moves_towards_target():
    """d = 3 features, L = 4 latent dims: the search state is z = μ + σε of the factual, drawn from
    `rng`; T = 0 returns dec(z). Later steps raise the target probability."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(40, 3, generator=g)
    vae, _ = train_vae(x, seed=2, epochs=60)
    assert vae.latent_dim == 4
    model = nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -1.0, 0.5], [-1.0, 1.0, -0.5]]))
        model.bias.zero_()
    target = torch.ones(40, dtype=torch.long)
    gen = REVISE(vae=vae, lambda_cost=0.0)
    zero = search_counterfactuals(model, x, target, gen, max_iter=0, tau=None,
                                  rng=torch.Generator().manual_seed(9))  # fmt: skip
    with torch.no_grad():
        expected = vae.decode(vae.encode_sample(x, torch.Generator().manual_seed(9)))
    torch.testing.assert_close(zero.counterfactual, expected)
    # Same seeds, same noise draws: descending the loss (η > 0) must end at a higher target
    # probability than ascending it (η < 0); a step taken with the wrong sign reverses this.
    p = {}
    for eta in (0.5, -0.5):
        res = search_counterfactuals(model, x, target, gen, max_iter=30, tau=None, step_size=eta,
                                     rng=torch.Generator().manual_seed(9))  # fmt: skip
        with torch.no_grad():
            p[eta] = float(torch.softmax(model(res.counterfactual), 1)[:, 1].mean())
    assert p[0.5] > p[-0.5] + 0.01, p  # seeded: 0.535 vs 0.514
