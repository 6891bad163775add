"""Batched search (method.md §3): equality with per-factual search, constraints, φ(t)."""

import itertools
import warnings

import pytest
import torch
from helpers import model_and_data

from cftrain.constraints import BOTH, DECREASE, INCREASE, NONE
from cftrain.generators import REVISE, ECCo, Generic, energy_schedule
from cftrain.search import search_counterfactuals
from cftrain.vae import VAE


@pytest.fixture(autouse=True, params=["fused", "eager"])
def search_step(request, monkeypatch):
    """Every test here runs with both implementations of the feature-space step: the compiled one
    (`cftrain.fused_step`, where it applies) and the eager PyTorch passes."""
    monkeypatch.setenv("CFTRAIN_FUSED_STEP", "on" if request.param == "fused" else "off")
    return request.param


def _model_and_data(d=5, k=3, n=64, seed=0):
    return model_and_data(d=d, k=k, n=n, seed=seed)


@pytest.mark.parametrize(
    "generator", [Generic(lambda_cost=0.01), ECCo(lambda_cost=0.001, lambda_energy=5.0)]
)
def test_batched_equals_one_at_a_time(generator):
    model, x, target = _model_and_data()
    kwargs = dict(step_size=0.5, max_iter=30, tau=0.8)
    batch = search_counterfactuals(model, x, target, generator, **kwargs)
    # Mixed convergence times: some stop early, some late, some never.
    assert len(set(batch.steps.tolist())) >= 5
    assert batch.converged.any() and (~batch.converged).any()
    for i in range(x.shape[0]):
        one = search_counterfactuals(model, x[i : i + 1], target[i : i + 1], generator, **kwargs)
        assert int(one.steps[0]) == int(batch.steps[i])
        assert bool(one.converged[0]) == bool(batch.converged[i])
        assert (one.counterfactual[0] - batch.counterfactual[i]).abs().max() <= 1e-5
        assert (one.adversarial[0] - batch.adversarial[i]).abs().max() <= 1e-5


def test_converged_factual_is_not_moved():
    model, x, _ = _model_and_data()
    with torch.no_grad():
        pred = model(x).argmax(1)
    res = search_counterfactuals(model, x, pred, Generic(), tau=0.0)
    assert (res.steps == 0).all() and res.converged.all()
    assert torch.equal(res.counterfactual, x)


def test_mutability_domain_and_epsilon():
    d = 6
    model, x, target = _model_and_data(d=d, n=200, seed=3)
    codes = torch.tensor([NONE, INCREASE, DECREASE, BOTH, BOTH, NONE], dtype=torch.int8)
    lower = torch.full((d,), -1.5)
    upper = torch.full((d,), 1.5)
    x = x.clamp(-1.5, 1.5)
    res = search_counterfactuals(
        model, x, target, ECCo(), step_size=1.0, max_iter=40, tau=0.99,
        mutability=codes, lower=lower, upper=upper, epsilon=0.3,
    )  # fmt: skip
    move = res.counterfactual - x
    assert res.steps.float().mean() > 3  # the search really moved
    assert (move[:, [0, 5]] == 0).all()
    assert (move[:, 1] >= 0).all() and (move[:, 2] <= 0).all()
    assert (move[:, [3, 4]].abs() > 0).any()
    assert (res.counterfactual >= lower).all() and (res.counterfactual <= upper).all()
    assert ((res.adversarial - x).abs().amax(1) <= 0.3 + 1e-6).all()
    assert (res.adversarial != x).any()


def test_factual_outside_box_keeps_immutable_feature():
    model, x, target = _model_and_data(d=3, n=20)
    x[:, 0] = 5.0  # outside the box, immutable: must stay
    codes = torch.tensor([NONE, BOTH, BOTH], dtype=torch.int8)
    res = search_counterfactuals(model, x, target, Generic(), mutability=codes,
                                 lower=torch.full((3,), -2.0), upper=torch.full((3,), 2.0))  # fmt: skip
    assert (res.counterfactual[:, 0] == 5.0).all()


def test_energy_schedule_hand_values():
    # T=30: b=round(1.2)=1, a=0.1; T=50: b=2, a=0.2; t = completed steps + 1.
    assert energy_schedule(0, 30) == pytest.approx(0.1 * 2**-0.9)
    assert energy_schedule(0, 30) == pytest.approx(0.0536, abs=1e-4)
    assert energy_schedule(29, 30) == pytest.approx(0.1 * 31**-0.9)
    assert energy_schedule(29, 30) == pytest.approx(0.0045, abs=1e-4)
    assert energy_schedule(0, 50) == pytest.approx(0.2 * 3**-0.9)
    assert energy_schedule(49, 50) == pytest.approx(0.2 * 52**-0.9)
    assert all(energy_schedule(t, 5) == 0.0 for t in range(5))
    # Julia rounds half to even: T=62.5 is not an int; T=63 → round(2.52)=3, T=37 → round(1.48)=1
    assert energy_schedule(0, 37) == pytest.approx(0.1 * 2**-0.9)
    assert energy_schedule(0, 75) == pytest.approx(0.3 * 4**-0.9)  # 75/25 = 3


def test_ecco_t5_equals_generic():
    model, x, target = _model_and_data()
    a = search_counterfactuals(
        model, x, target, ECCo(lambda_cost=0.01, lambda_energy=5.0), max_iter=5, tau=0.9
    )
    b = search_counterfactuals(model, x, target, Generic(lambda_cost=0.01), max_iter=5, tau=0.9)
    assert torch.equal(a.counterfactual, b.counterfactual)


@pytest.mark.parametrize("code", [INCREASE, DECREASE, NONE])
def test_one_code_for_every_feature(code):
    """Every feature with the same code (no `both` column to mix in)."""
    model, x, target = _model_and_data(d=3, n=40, seed=4)
    codes = torch.full((3,), code, dtype=torch.int8)
    res = search_counterfactuals(model, x, target, Generic(), step_size=1.0, max_iter=20,
                                 tau=0.99, mutability=codes)  # fmt: skip
    move = res.counterfactual - x
    if code == INCREASE:
        assert (move >= 0).all() and (move > 0).any()
    elif code == DECREASE:
        assert (move <= 0).all() and (move < 0).any()
    else:
        assert (move == 0).all()


def test_defaults_t30_tau_half_eps_03():
    """Defaults: T = 30 steps, τ = 0.5, ε = 0.3 (method.md §1, §3)."""
    model, x, target = _model_and_data(n=200, seed=3)
    res = search_counterfactuals(model, x, target, Generic(lambda_cost=0.01))
    conv = res.converged
    assert conv.any() and (~conv).any()
    assert (res.steps[~conv] == 30).all() and (res.steps <= 30).all()
    with torch.no_grad():
        p = torch.softmax(model(res.counterfactual), 1).gather(1, target[:, None]).squeeze(1)
    assert (p[conv] >= 0.5).all() and (p[~conv] < 0.5).all()
    dist = (res.adversarial - x).abs().amax(1)
    assert (dist <= 0.3 + 1e-6).all()
    assert ((res.counterfactual - x).abs().amax(1) > 0.35).any()  # paths do leave the ball


def test_integer_targets_of_any_dtype():
    model, x, target = _model_and_data(n=30, seed=2)
    a = search_counterfactuals(model, x, target, Generic(), max_iter=10)
    b = search_counterfactuals(model, x, target.to(torch.int32), Generic(), max_iter=10)
    assert b.target.dtype == torch.int64 and torch.equal(a.target, b.target)
    assert torch.equal(a.counterfactual, b.counterfactual) and torch.equal(a.steps, b.steps)


def test_result_fields_max_iter_convergence_and_start():
    """τ = None: every sample takes exactly T steps and counts as converged (CE.jl
    MaxIterConvergence); `start` replaces the identity initialisation; result dtypes."""
    model, x, target = _model_and_data(n=20, seed=5)
    res = search_counterfactuals(model, x, target, Generic(), max_iter=7, tau=None)
    assert (res.steps == 7).all() and res.converged.all()
    assert res.steps.dtype == torch.int32 and res.converged.dtype == torch.bool
    assert torch.equal(res.target, target) and torch.equal(res.factual, x)
    start = x + 0.5
    res0 = search_counterfactuals(model, x, target, Generic(), max_iter=0, tau=None, start=start)
    assert torch.equal(res0.counterfactual, start) and (res0.steps == 0).all()
    empty = search_counterfactuals(model, x[:0], target[:0], Generic())
    assert empty.counterfactual.shape == (0, x.shape[1]) and empty.steps.shape == (0,)


def test_threshold_is_inclusive():
    """p(y⁺|x′) ≥ τ stops: zero logits give p = 0.5 exactly, so τ = 0.5 converges at step 0."""
    model = torch.nn.Linear(3, 2)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    res = search_counterfactuals(model, x, torch.ones(4, dtype=torch.long), Generic(), tau=0.5)
    assert res.converged.all() and (res.steps == 0).all()


def test_one_step_hand_value_linear_model():
    """From `start` s₀ = x + (0.1, −0.1): s₁ = s₀ − η[Wᵀ(softmax(Ws₀) − onehot(y⁺)) + λ·sign(s₀ − x)]."""
    w = torch.tensor([[1.0, -2.0], [0.5, 1.0]])
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(w)
        model.bias.zero_()
    x = torch.tensor([[0.5, 0.25]])
    s0 = x + torch.tensor([[0.1, -0.1]])
    p = torch.softmax(w @ s0[0], 0)
    grad = w.T @ (p - torch.tensor([0.0, 1.0])) + 0.5 * torch.tensor([1.0, -1.0])
    one = search_counterfactuals(model, x, torch.tensor([1]), Generic(lambda_cost=0.5), step_size=0.1,
                                 max_iter=1, tau=None, epsilon=10.0, start=s0)  # fmt: skip
    torch.testing.assert_close(one.counterfactual[0], s0[0] - 0.1 * grad)
    torch.testing.assert_close(one.adversarial, one.counterfactual)  # inside ε = 10
    assert one.steps.item() == 1


def test_feature_space_box_with_one_bound():
    model, x, target = _model_and_data(d=3, n=60, seed=8)
    lower, upper = torch.full((3,), -0.2), torch.full((3,), 0.2)
    x = x.clamp(-0.2, 0.2)
    kw = dict(step_size=1.0, max_iter=20, tau=0.99)
    free = search_counterfactuals(model, x, target, Generic(), **kw).counterfactual
    assert (free < lower).any() and (free > upper).any()
    lo = search_counterfactuals(model, x, target, Generic(), lower=lower, **kw).counterfactual
    up = search_counterfactuals(model, x, target, Generic(), upper=upper, **kw).counterfactual
    assert (lo >= lower).all() and (lo > upper).any()
    assert (up <= upper).all() and (up < lower).any()


def _zero_linear(d, k=2):
    model = torch.nn.Linear(d, k)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    return model


def test_epsilon_ball_is_inclusive_at_an_exact_boundary():
    """A zero model has zero gradient, so the iterate stays at `start`: ‖x₁ − x‖∞ = 0.25 exactly.
    ‖x′ₜ − x‖∞ ≤ ε keeps it as the AE at ε = 0.25 (method.md §1: `<=`), not at ε just below."""
    x = torch.tensor([[0.5, -0.5]])
    start = x + torch.tensor([[0.25, -0.125]])  # exact in float32
    kw = dict(max_iter=1, tau=None, start=start)
    at = search_counterfactuals(_zero_linear(2), x, torch.tensor([1]), Generic(lambda_cost=0.0), epsilon=0.25, **kw)  # fmt: skip
    assert torch.equal(at.counterfactual, start)
    assert torch.equal(at.adversarial, start)
    below = search_counterfactuals(_zero_linear(2), x, torch.tensor([1]), Generic(lambda_cost=0.0), epsilon=0.2499, **kw)  # fmt: skip
    assert torch.equal(below.adversarial, x)


class _NaNGradient(torch.nn.Module):
    """Logits (2·x₁, −2·x₁ + 0·√x₀): at x₀ = 0 the gradient w.r.t. x₀ is 0·∞ = NaN."""

    def forward(self, x):
        z = 0.0 * torch.sqrt(x[:, 0])
        return torch.stack([2.0 * x[:, 1], -2.0 * x[:, 1] + z], dim=1)


@pytest.fixture(params=["checked", "always"])
def finite_check(request, monkeypatch):
    """Both ways of replacing NaN (`search.FINITE_CHECK_MIN`): guarded by a finiteness check of
    the block's sum (blocks of any size), or unconditionally (no block is large enough)."""
    import cftrain.search as search

    monkeypatch.setattr(search, "FINITE_CHECK_MIN", 0 if request.param == "checked" else 2**62)
    return request.param


def test_nan_gradient_component_is_replaced_by_zero(finite_check):
    """Δ = −η·g with NaN → 0 (CE.jl): the NaN feature does not move; the other takes the hand step."""
    x = torch.tensor([[0.0, 0.25]])
    s = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(_NaNGradient()(s), torch.tensor([1])), s)  # fmt: skip
    assert torch.isnan(g[0, 0])  # the model really yields a NaN gradient
    # CE gradient w.r.t. x₁ by hand: (p₀ − 0)·2 + (p₁ − 1)·(−2) = 4·p₀, p₀ = σ(2·0.25 − (−2·0.25)) = σ(1).
    p0 = 1.0 / (1.0 + torch.exp(torch.tensor(-1.0)))
    res = search_counterfactuals(_NaNGradient(), x, torch.tensor([1]), Generic(lambda_cost=0.0),
                                 step_size=0.1, max_iter=1, tau=None)  # fmt: skip
    assert res.counterfactual[0, 0].item() == 0.0
    torch.testing.assert_close(res.counterfactual[0, 1], 0.25 - 0.1 * 4 * p0)


def test_nan_gradient_is_replaced_also_with_an_immutable_feature(finite_check):
    """The same NaN → 0 when an immutable feature (a `none` column, masked by the 1/0 multiplier
    that the finite-gradient step fuses with the scaling) is present: the NaN is not carried into
    the move."""
    x = torch.tensor([[0.0, 0.25, 0.5]])
    p0 = 1.0 / (1.0 + torch.exp(torch.tensor(-1.0)))
    codes = torch.tensor([BOTH, BOTH, NONE], dtype=torch.int8)
    res = search_counterfactuals(_NaNGradient(), x, torch.tensor([1]), Generic(lambda_cost=0.0),
                                 step_size=0.1, max_iter=1, tau=None, mutability=codes)  # fmt: skip
    assert res.counterfactual[0, 0].item() == 0.0 and res.counterfactual[0, 2].item() == 0.5
    torch.testing.assert_close(res.counterfactual[0, 1], 0.25 - 0.1 * 4 * p0)


def test_overflowing_step_is_replaced_by_the_largest_float(finite_check):
    """Δ = −η·g may overflow for |η| > 1 although g is finite: −inf → −max (CE.jl's NaN/inf
    replacement), also where a finite g would let the step fuse the scaling with the masked add.
    Logits (3e38·x₁, −3e38·x₁) at x₁ = 0: g₁ = 0.5·3e38 + 0.5·3e38 = 3e38, and 1.5·g₁ > max."""
    model = torch.nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.0, 3e38, 0.0], [0.0, -3e38, 0.0]]))
    x = torch.tensor([[0.5, 0.0, 0.25]])
    codes = torch.tensor([NONE, BOTH, BOTH], dtype=torch.int8)
    res = search_counterfactuals(model, x, torch.tensor([1]), Generic(lambda_cost=0.0),
                                 step_size=1.5, max_iter=1, tau=None, mutability=codes)  # fmt: skip
    largest = torch.finfo(torch.float32).max
    assert torch.equal(res.counterfactual, torch.tensor([[0.5, -largest, 0.25]]))


def test_fused_finite_step_changes_no_value(monkeypatch):
    """With every gradient block finite, the step's scaling joins the masked add (`addcmul` with
    `value=−η`, performance only): the search equals, bit for bit, the one that scales first and
    replaces NaN unconditionally — with immutable features, a box, ECCo's ℓ1 sign and energy,
    τ, and η ≤ 1 (η = 1 and η = 0.1); and the fused path really ran."""
    import cftrain.search as search

    d = 6
    model, x, target = _model_and_data(d=d, n=150, seed=4)
    x[::9, 0] = 3.0  # an immutable value outside the box
    codes = torch.tensor([NONE, BOTH, BOTH, NONE, BOTH, BOTH], dtype=torch.int8)
    box = dict(lower=torch.full((d,), -1.5), upper=torch.full((d,), 1.5))
    gen = ECCo(lambda_cost=0.01, lambda_energy=5.0)
    calls = []
    fused = search._StepMask.scaled_add_to

    def spy(self, *args):
        out = fused(self, *args)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(search._StepMask, "scaled_add_to", spy)
    for eta in (1.0, 0.1):
        kw = dict(step_size=eta, max_iter=25, tau=0.9, epsilon=0.3, mutability=codes, **box)
        monkeypatch.setattr(search, "FINITE_CHECK_MIN", 0)
        with_fused = search_counterfactuals(model, x, target, gen, **kw)
        monkeypatch.setattr(search, "FINITE_CHECK_MIN", 2**62)
        separate = search_counterfactuals(model, x, target, gen, **kw)
        for a, b in zip(_bits(with_fused), _bits(separate), strict=True):
            assert torch.equal(a, b)
        assert with_fused.steps.float().mean() > 3
    assert calls and all(calls)


def test_scaled_add_to_is_scaling_then_add_to_or_nothing():
    """`_StepMask.scaled_add_to(base, g, c)`: base + mask(c·g) written into g — bit for bit
    `add_to(base, c·g)` (here for g over many magnitudes) — when the mask is the 1/0 multiplier
    alone; None, g untouched, without the multiplier or with an `increase`/`decrease` column."""
    from cftrain.search import _StepMask

    gen = torch.Generator().manual_seed(0)
    g = torch.randn(400, 50, generator=gen) * torch.exp(4 * torch.randn(400, 50, generator=gen))
    base = torch.randn(400, 50, generator=gen)
    codes = torch.full((50,), BOTH, dtype=torch.int8)
    codes[::4] = NONE
    mask = _StepMask(codes)
    mask.multiply(torch.ones(1, 13), base)
    expected = mask.add_to(base, g * -0.1)
    work = g.clone()
    out = mask.scaled_add_to(base, work, -0.1)
    assert out is work and torch.equal(out.view(torch.int32), expected.view(torch.int32))
    assert torch.equal(out[:, ::4], base[:, ::4])
    for other in (INCREASE, DECREASE):
        codes_m = codes.clone()
        codes_m[1] = other
        monotone = _StepMask(codes_m)
        monotone.multiply(torch.ones(1, 13), base)
        work = g.clone()
        assert monotone.scaled_add_to(base, work, -0.1) is None and torch.equal(work, g)
    plain = _StepMask(None)
    assert plain.scaled_add_to(base, work, -0.1) is None and torch.equal(work, g)


def test_nan_gradient_component_is_replaced_by_zero_in_latent_space(finite_check):
    """The same NaN → 0 for REVISE's latent step (identity VAE: z = x)."""
    x = torch.tensor([[0.0, 0.25]])
    p0 = 1.0 / (1.0 + torch.exp(torch.tensor(-1.0)))
    res = search_counterfactuals(_NaNGradient(), x, torch.tensor([1]), REVISE(vae=_IdentityVAE(), lambda_cost=0.0),
                                 step_size=0.1, max_iter=1, tau=None, rng=torch.Generator().manual_seed(0))  # fmt: skip
    assert res.counterfactual[0, 0].item() == 0.0
    torch.testing.assert_close(res.counterfactual[0, 1], 0.25 - 0.1 * 4 * p0)


class _IdentityVAE(torch.nn.Module):
    """Deterministic stand-in: z = x, dec(z) = z, so REVISE's latent search is the box-clamped one."""

    latent_dim = 3

    def encode_sample(self, x, generator):
        return x.clone()

    def decode(self, z):
        return z


def test_revise_clamps_the_decoded_point_on_both_sides_in_the_loss_and_before_reencoding():
    """Factual (−1.1, 1.1, 0) outside the box [−1, 1]³ on both sides; target 1 of a linear model with
    w₀ − w₁ = (−2, 2, 1), so ∇ₓCE = p₀·(−2, 2, 1) pushes features 0 and 1 into the box.
    Step 0: the loss sees clamp(s) = (−1, 1, 0): clamped features get zero gradient, so
    s₁ = clamp(s₀ − η·p₀(a)·(0, 0, 1)) = (−1, 1, −η·p₀(a)), a = (−1, 1, 0) (re-encoded clamped).
    Step 1: s₁ lies in the box (on its faces; clamp passes the gradient there), so
    s₂ = clamp(s₁ − η·p₀(s₁)·(−2, 2, 1))."""
    from cftrain.generators import REVISE

    w = torch.tensor([[-1.0, 1.0, 0.5], [1.0, -1.0, -0.5]])
    model = torch.nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.copy_(w)
        model.bias.zero_()
    x = torch.tensor([[-1.1, 1.1, 0.0]])
    lower, upper = -torch.ones(3), torch.ones(3)
    eta = 0.5

    def p0(point):
        logits = w @ point
        return torch.exp(logits[0]) / torch.exp(logits).sum()

    s1 = torch.tensor([-1.0, 1.0, 0.0]) - eta * p0(torch.tensor([-1.0, 1.0, 0.0])) * torch.tensor([0.0, 0.0, 1.0])  # fmt: skip
    s2 = (s1 - eta * p0(s1) * torch.tensor([-2.0, 2.0, 1.0])).clamp(-1.0, 1.0)
    gen = REVISE(vae=_IdentityVAE(), lambda_cost=0.0)
    kw = dict(step_size=eta, tau=None, lower=lower, upper=upper, rng=torch.Generator().manual_seed(0))  # fmt: skip
    one = search_counterfactuals(model, x, torch.tensor([1]), gen, max_iter=1, **kw)
    torch.testing.assert_close(one.counterfactual[0], s1)
    two = search_counterfactuals(model, x, torch.tensor([1]), gen, max_iter=2, **kw)
    torch.testing.assert_close(two.counterfactual[0], s2)
    assert (s2[:2].abs() < 1.0).all()  # step 1 moved both boundary features inside


class _AutogradL1(ECCo):
    """ECCo whose ℓ1 term goes through autograd (the search's closed-form path switched off)."""

    def l1_weight(self) -> float:
        return 0.0


class _AutogradL1Generic(Generic):
    def l1_weight(self) -> float:
        return 0.0


@pytest.mark.parametrize(
    ("fast", "slow"),
    [
        (
            ECCo(lambda_cost=0.05, lambda_energy=5.0),
            _AutogradL1(lambda_cost=0.05, lambda_energy=5.0),
        ),
        (Generic(lambda_cost=0.05), _AutogradL1Generic(lambda_cost=0.05)),
    ],
)
def test_closed_form_l1_gradient_is_bit_identical_to_autograd(fast, slow):
    """Generator.l1_weight: the search's λ·sgn(x′ − x) gives exactly autograd's values — same
    counterfactuals, AEs and steps to the bit — with mutability codes, a box the factuals leave,
    mixed convergence and rows whose ℓ1 gradient has zero components (immutable feature)."""
    d = 6
    model, x, target = _model_and_data(d=d, n=120, seed=7)
    codes = torch.tensor([NONE, INCREASE, DECREASE, BOTH, BOTH, BOTH], dtype=torch.int8)
    box = dict(lower=torch.full((d,), -2.0), upper=torch.full((d,), 2.0))  # 20 % of rows outside
    kwargs = dict(step_size=1.0, max_iter=25, tau=0.5, mutability=codes, epsilon=0.2, **box)
    assert fast.l1_weight() > 0 and slow.l1_weight() == 0
    a = search_counterfactuals(model, x, target, fast, **kwargs)
    b = search_counterfactuals(model, x, target, slow, **kwargs)
    assert a.steps.float().mean() > 2 and (a.counterfactual != x).any()
    assert a.converged.any() and (~a.converged).any()
    for field in ("counterfactual", "adversarial", "steps", "converged"):
        u, v = getattr(a, field), getattr(b, field)
        assert torch.equal(u, v), field
    assert torch.equal(a.counterfactual.view(torch.int32), b.counterfactual.view(torch.int32))


def test_penalty_without_l1_term_is_the_rest_of_the_penalty():
    """`penalty(..., l1=False)` leaves out exactly λ·‖x′ − x‖₁ (the term `l1_weight` names)."""
    torch.manual_seed(0)
    x_cf, factual = torch.randn(4, 3), torch.randn(4, 3)
    logits, target = torch.randn(4, 2), torch.tensor([0, 1, 1, 0])
    l1 = (x_cf - factual).abs().sum(1)
    ecco = ECCo(lambda_cost=0.2, lambda_energy=5.0)
    full = ecco.penalty(x_cf, factual, logits, target, 3, 50)
    rest = ecco.penalty(x_cf, factual, logits, target, 3, 50, l1=False)
    assert ecco.l1_weight() == pytest.approx(0.2)
    assert torch.allclose(full - rest, 0.2 * l1, atol=1e-6)
    assert (rest != 0).all()  # the energy term stays
    gen = Generic(lambda_cost=0.7)
    assert gen.l1_weight() == pytest.approx(0.7)
    assert torch.allclose(gen.penalty(x_cf, factual, None, None, 0, 30), 0.7 * l1)
    assert torch.equal(gen.penalty(x_cf, factual, None, None, 0, 30, l1=False), torch.zeros(4))
    # The zero penalty has the input's dtype (float64 data keep float64 losses).
    rest64 = gen.penalty(x_cf.double(), factual.double(), None, None, 0, 30, l1=False)
    assert rest64.dtype == torch.float64 and rest64.shape == (4,)
    egy64 = ECCo(lambda_energy=0.0).penalty(
        x_cf.double(), factual.double(), logits.double(), target, 3, 50, l1=False
    )
    assert egy64.dtype == torch.float64 and torch.equal(egy64, torch.zeros(4, dtype=torch.float64))


@pytest.mark.parametrize(("start_noise", "outside_value"), [(0.0, 3.5), (0.3, 3.5), (0.0, -3.5)])
def test_rows_are_independent_of_whether_another_factual_is_outside_the_box(
    start_noise, outside_value
):
    """The search skips re-filling the immutable columns after the clamp when no start point has
    an immutable value outside the box; one row outside switches that on for the batch. Every other
    row's results are the same to the bit either way (and so are the outside row's constraints)."""
    d = 6
    model, x, target = _model_and_data(d=d, n=80, seed=11)
    codes = torch.tensor([NONE, BOTH, BOTH, NONE, INCREASE, BOTH], dtype=torch.int8)
    lower, upper = torch.full((d,), -2.0), torch.full((d,), 2.0)
    x = x.clamp(-1.9, 1.9)
    x[:, [1, 2]] *= 1.5  # mutable columns partly outside the box: the clamp acts on them
    outside = x[:1].clone()
    outside[0, 3] = outside_value  # an immutable value outside the box (above or below)
    gen = torch.Generator().manual_seed(0)
    noise = start_noise * torch.randn(x.shape[0] + 1, d, generator=gen)
    noise[:, [0, 3]] = 0.0
    kwargs = dict(step_size=1.0, max_iter=20, tau=0.7, mutability=codes, lower=lower, upper=upper)
    alone = search_counterfactuals(
        model, x, target, ECCo(), start=x + noise[1:], epsilon=0.5, **kwargs
    )
    with_outside = search_counterfactuals(
        model, torch.cat([outside, x]), torch.cat([target[:1], target]), ECCo(),
        start=torch.cat([outside, x]) + noise, epsilon=0.5, **kwargs,
    )  # fmt: skip
    assert alone.steps.float().mean() > 2 and (alone.counterfactual != x).any()
    for field in ("counterfactual", "adversarial", "steps", "converged"):
        assert torch.equal(getattr(alone, field), getattr(with_outside, field)[1:]), field
    cf = with_outside.counterfactual
    assert cf[0, 3] == outside_value and (cf[:, [0, 3]] == torch.cat([outside, x])[:, [0, 3]]).all()


class _LatentWithL1Weight(REVISE):
    """REVISE naming its ℓ1 weight: in latent space the search must not use it (x ≠ the state)."""

    def l1_weight(self) -> float:
        return float(self.lambda_cost)

    def penalty(self, x_cf, factual, logits, target, step, max_iter, l1=True):
        if not l1:
            return torch.zeros(x_cf.shape[0], dtype=x_cf.dtype)
        return super().penalty(x_cf, factual, logits, target, step, max_iter)


class _L1AndSquare(Generic):
    """λ‖x′ − x‖₁ + 0.3‖x′ − x‖₂²: the rest of the penalty also reads the factual."""

    def penalty(self, x_cf, factual, logits, target, step, max_iter, l1=True):
        rest = 0.3 * ((x_cf - factual) ** 2).sum(1)
        return super().penalty(x_cf, factual, logits, target, step, max_iter, l1=l1) + rest


class _L1AndSquareAutograd(_L1AndSquare):
    def l1_weight(self) -> float:
        return 0.0


def test_closed_form_l1_only_in_feature_space_and_with_the_rest_of_the_penalty():
    """A latent generator's `l1_weight` is ignored (its ℓ1 term acts on the decoded point): same
    result as REVISE to the bit. A penalty whose other terms read the factual gets them through
    autograd beside the closed-form ℓ1 term (equal up to summation order)."""
    d = 6
    model, x, target = _model_and_data(d=d, n=60, seed=5)
    vae = VAE(d, 3, 16)
    kwargs = dict(step_size=0.5, max_iter=15, tau=0.7, rng=None)
    plain = search_counterfactuals(
        model,
        x,
        target,
        REVISE(vae=vae, lambda_cost=0.1),
        **{**kwargs, "rng": torch.Generator().manual_seed(1)},
    )
    named = search_counterfactuals(
        model,
        x,
        target,
        _LatentWithL1Weight(vae=vae, lambda_cost=0.1),
        **{**kwargs, "rng": torch.Generator().manual_seed(1)},
    )
    for field in ("counterfactual", "adversarial", "steps", "converged"):
        assert torch.equal(getattr(plain, field), getattr(named, field)), field
    fast = search_counterfactuals(model, x, target, _L1AndSquare(lambda_cost=0.05), **kwargs)
    slow = search_counterfactuals(
        model, x, target, _L1AndSquareAutograd(lambda_cost=0.05), **kwargs
    )
    assert fast.steps.float().mean() > 2 and torch.equal(fast.steps, slow.steps)
    assert torch.allclose(fast.counterfactual, slow.counterfactual, atol=1e-5)
    assert (fast.counterfactual != x).any()


class _DoublingVAE(_IdentityVAE):
    """z = 2x, dec(z) = z/2 (exact in floats): the latent state is not the decoded point."""

    def encode_sample(self, x, generator):
        return 2 * x

    def decode(self, z):
        return z / 2


@pytest.mark.parametrize("tau", [None, 0.5])
@pytest.mark.parametrize("space", ["feature", "latent", "projected"])
def test_adversarial_is_the_last_iterate_inside_the_ball(tau, space):
    """Oracle (method.md §1 AE): the t-th iterate is the result of a search with `max_iter=t`
    (rows are independent, with τ a row's iterates are a prefix of its τ = None path), so the AE is
    the last xₜ, t ≤ steps, with ‖xₜ − x‖∞ ≤ ε — else the factual (t = 0 is the factual, not
    `start`) — and the counterfactual is x at the row's last step. Rows leave the ball, re-enter
    it, never enter it, and leave the search early (some at step 0). The same in feature space,
    in REVISE's latent space (z = 2x) and with a categorical projection of a group whose
    factual values are not one-hot (the projection moves them, so the ℓ1 sign must be taken at
    the projected point also after the working set shrinks)."""
    from cftrain.categorical import CategoricalProjection

    d, eps, horizon = 5, 0.6, 15
    model, x, target = _model_and_data(d=d, n=200, seed=2)
    with torch.no_grad():
        target[::7] = model(x[::7]).argmax(1)  # some rows may stop at step 0
    start = x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    box = dict(lower=torch.full((d,), -2.0), upper=torch.full((d,), 2.0))
    kw = dict(step_size=0.3, epsilon=eps, start=start, **box)
    gen = Generic(lambda_cost=0.01)  # (ECCo's energy schedule depends on T: no common prefix)
    if space == "latent":
        gen = REVISE(vae=_DoublingVAE(), lambda_cost=0.01)
    elif space == "projected":
        x[:, 1:4] = torch.rand(x.shape[0], 3, generator=torch.Generator().manual_seed(1))
        kw = dict(kw, start=None, categorical=CategoricalProjection([[1, 2, 3]]))

    def run(t, tau):
        rng = torch.Generator().manual_seed(5)
        return search_counterfactuals(model, x, target, gen, max_iter=t, tau=tau, rng=rng, **kw)

    path = torch.stack([run(t, None).counterfactual for t in range(horizon + 1)])  # (T+1, n, d)
    res = run(horizon, tau)
    inside = (path - x).abs().amax(2) <= eps  # (T+1, n)
    inside[0] = True  # t = 0: the factual itself
    expected = x.clone()
    for i in range(x.shape[0]):
        last = max(t for t in range(int(res.steps[i]) + 1) if inside[t, i])
        if last:
            expected[i] = path[last, i]
    assert torch.equal(res.adversarial, expected)
    assert torch.equal(res.counterfactual, path[res.steps.long(), torch.arange(x.shape[0])])
    later = inside[1:]
    left = (later[:-1] & ~later[1:]).any(0)
    reentered = (left & (~later[:-1] & later[1:]).any(0)).sum()
    assert left.sum() > 30 and (reentered >= 2 or space == "projected")  # (no start there)
    assert (~later).all(0).sum() >= 20
    if tau is not None:
        assert (res.steps < horizon).sum() > 15 and (res.steps == horizon).any()
        assert (res.steps == 0).any() and (res.steps > 0).sum() > 100


def test_epsilon_ball_is_inclusive_on_the_negative_side():
    """‖x′ − x‖∞ = ε reached by x′ − x = −ε (the ball's lower face) is inside too."""
    x = torch.tensor([[0.5, -0.5]])
    start = x + torch.tensor([[0.125, -0.25]])  # exact in float32
    kw = dict(max_iter=1, tau=None, start=start)
    gen = Generic(lambda_cost=0.0)
    at = search_counterfactuals(_zero_linear(2), x, torch.tensor([1]), gen, epsilon=0.25, **kw)
    assert torch.equal(at.adversarial, start)
    below = search_counterfactuals(_zero_linear(2), x, torch.tensor([1]), gen, epsilon=0.2499, **kw)
    assert torch.equal(below.adversarial, x)


@pytest.mark.parametrize("value", [-0.0, float("inf"), float("-inf")])
def test_immutable_value_that_a_zero_move_would_change_is_kept_bit_for_bit(value):
    """The `none` columns are zeroed by a 1/0 multiplier only where that gives the fill's result:
    a factual's −0.0 stays −0.0 + (+0) = +0.0 (not −0.0 from −0.0 + (−0)), and ±inf stays ±inf
    (not ±inf·0 = NaN) — with and without a box, and with one the value lies outside of (the fill
    then also undoes the clamp's move, −1 − (−0) = −1, where −1·0 = −0 would keep −0.0)."""
    d = 4
    model, x, target = _model_and_data(d=d, n=40, seed=4)
    x[:, 0] = value
    x[::2, 0] = 0.0 if value == -0.0 else value
    codes = torch.tensor([NONE, BOTH, BOTH, BOTH], dtype=torch.int8)
    outside = torch.tensor([-1.0, 3.0, 3.0, 3.0])  # column 0's values lie above this box
    for box in (
        {},
        dict(lower=torch.full((d,), -3.0), upper=torch.full((d,), 3.0)),
        dict(lower=torch.full((d,), -3.0), upper=outside),
    ):
        res = search_counterfactuals(
            model, x, target, ECCo(), step_size=0.5, max_iter=5, tau=None, mutability=codes, **box
        )
        column = res.counterfactual[:, 0]
        if value == -0.0:  # +0 after the first step, for every row
            assert (column == 0).all() and not torch.signbit(column).any()
            assert (res.counterfactual[:, 1:] != x[:, 1:]).any()  # the others moved
        else:  # (an infinite input gives NaN gradients, i.e. no move at all)
            assert torch.equal(column, x[:, 0])


@pytest.mark.parametrize("setting", ["free", "none_column", "increase", "start_outside"])
def test_clamped_feature_lands_exactly_on_its_bound(setting):
    """CE.jl clamps after adding the masked step (`update!`): a feature stepping past its bound
    is the bound, bit for bit. (Clamping first and adding the move again, −0.3 + (1 − (−0.3)),
    gives 0.99999994.) Also with an immutable column, an increase-only one, and when another
    factual's immutable value lies outside the box, where the clamped move is re-masked. Logits
    (5·x₀, −5·x₀) at x₀ = −0.3, target 0: g₀ = −10·(1 − p₀), so η = 1 moves x₀ by ≈ 9.5."""
    model = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[5.0, 0.0], [-5.0, 0.0]]))
    x = torch.tensor([[-0.3, 0.5], [-0.3, 0.5]])
    codes = {"free": [BOTH, BOTH], "none_column": [BOTH, NONE], "increase": [INCREASE, NONE],
             "start_outside": [BOTH, NONE]}[setting]  # fmt: skip
    if setting == "start_outside":
        x[1, 1] = 4.0  # immutable, above the box: the clamp must not move it
    res = search_counterfactuals(model, x, torch.tensor([0, 0]), Generic(lambda_cost=0.0),
                                 step_size=1.0, max_iter=1, tau=None,
                                 mutability=torch.tensor(codes, dtype=torch.int8),
                                 lower=torch.full((2,), -1.0), upper=torch.full((2,), 1.0))  # fmt: skip
    assert res.counterfactual[0, 0].item() == 1.0 and res.counterfactual[1, 0].item() == 1.0
    assert torch.equal(res.counterfactual[:, 1], x[:, 1])
    assert float((torch.tensor(1.0) - x[0, 0]) + x[0, 0]) != 1.0  # (the other order's value)


def test_negative_zero_start_takes_ce_jl_round_trip_on_the_first_step():
    """CE.jl's Δ = (s − η·g) − s turns a −0.0 state entry with a zero gradient into +0.0, where
    s + (−η·0) would keep −0.0: the first step takes the round trip when the start holds −0.0
    (NaN → 0 in Δ, so an infinite entry stays infinite), later steps need not. Logits
    (x₁, −x₁): g₀ = 0·(p₀ − y₀) + 0·(p₁ − y₁) = +0."""
    model = torch.nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]]))
    x = torch.tensor([[-0.0, 0.5, float("inf")], [0.25, 0.5, -0.0]])
    for max_iter in (1, 3):
        res = search_counterfactuals(model, x, torch.tensor([1, 1]), Generic(lambda_cost=0.0),
                                     step_size=0.1, max_iter=max_iter, tau=None)  # fmt: skip
        cf = res.counterfactual
        assert cf[0, 0].item() == 0.0 and not torch.signbit(cf[0, 0])
        assert cf[1, 2].item() == 0.0 and not torch.signbit(cf[1, 2])
        assert cf[0, 2].item() == float("inf") and cf[1, 0].item() == 0.25
        assert cf[1, 1] < 0.5  # (row 0's logits are NaN, 0·inf: it does not move)


class _ReluFirstFeature(torch.nn.Module):
    """Logits (4·relu(x₀), 0·x₁): the gradient w.r.t. x₀ is +0 once x₀ ≤ 0."""

    def forward(self, x):
        return torch.stack([4.0 * torch.relu(x[:, 0]), 0.0 * x[:, 1]], dim=1)


def test_negative_zero_bound_keeps_the_round_trip_on_every_step():
    """A box bound of −0.0 puts −0.0 into the state at any step (the clamp): CE.jl's next step
    turns it into +0.0 (Δ = (−0 − η·0) − (−0) = +0), so with such a bound every step takes the
    round trip. x₀ = 0.5 steps below 0 and is clamped to −0.0; then its gradient is +0."""
    x = torch.tensor([[0.5, 0.25]])
    res = search_counterfactuals(_ReluFirstFeature(), x, torch.tensor([1]), Generic(lambda_cost=0.0),
                                 step_size=1.0, max_iter=2, tau=None,
                                 lower=torch.tensor([-0.0, -1.0]), upper=torch.tensor([1.0, 1.0]))  # fmt: skip
    first = search_counterfactuals(_ReluFirstFeature(), x, torch.tensor([1]), Generic(lambda_cost=0.0),
                                   step_size=1.0, max_iter=1, tau=None,
                                   lower=torch.tensor([-0.0, -1.0]), upper=torch.tensor([1.0, 1.0]))  # fmt: skip
    assert first.counterfactual[0, 0].item() == 0.0 and torch.signbit(first.counterfactual[0, 0])
    assert res.counterfactual[0, 0].item() == 0.0 and not torch.signbit(res.counterfactual[0, 0])


class _SteepSecondFeature(torch.nn.Module):
    """Logits (z, −z), z = 3e38·(x₁ − x₁): zero (finite at any x₁) with gradient 3e38 w.r.t. x₁."""

    def forward(self, x):
        z = 3e38 * (x[:, 1] - x[:, 1].detach())
        return torch.stack([z, -z], dim=1)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_round_trip_step_keeps_an_overflowing_move_infinite(sign):
    """CE.jl replaces only NaN in Δ = (s − η·g) − s: a step that overflows to ±inf stays ±inf, also
    on a step that takes the round trip (a −0.0 start). x₁ = ±3e38 moves by ±max (−η·g = ∓inf,
    replaced by ∓max, as CE.jl's s − η·g is ∓inf either way): ±inf, no box."""
    x = torch.tensor([[-0.0, sign * 3e38]])
    target = torch.tensor([0 if sign > 0 else 1])  # g₁ = ∓3e38
    res = search_counterfactuals(_SteepSecondFeature(), x, target, Generic(lambda_cost=0.0),
                                 step_size=1.5, max_iter=1, tau=None)  # fmt: skip
    assert res.counterfactual[0, 1].item() == sign * float("inf")


def _bits(res):
    return [
        t.view(torch.int32) if t.dtype == torch.float32 else t
        for t in (res.counterfactual, res.adversarial, res.steps, res.converged)
    ]


@pytest.mark.parametrize("case", ["masks_box_tau", "monotone_start", "plain", "projected"])
def test_row_blocks_change_no_value(monkeypatch, case):
    """The feature-space step runs in row blocks (`search.BLOCK_BYTES`, performance only): blocks
    of 3 rows give the one-block search bit for bit — with the ℓ1 sign of the last gap or of
    s − x_fact, a shrinking working set, every mask, a box the factuals partly lie outside of,
    a start, and a categorical projection."""
    import cftrain.search as search
    from cftrain.categorical import CategoricalProjection

    d = 8
    model, x, target = _model_and_data(d=d, n=61, seed=6)
    box = dict(lower=torch.full((d,), -1.5), upper=torch.full((d,), 1.5))
    kw = dict(step_size=1.0, max_iter=20, tau=0.5, epsilon=0.4)
    gen = ECCo(lambda_cost=0.01, lambda_energy=5.0)
    if case == "masks_box_tau":
        codes = [NONE, INCREASE, DECREASE, BOTH, BOTH, NONE, BOTH, BOTH]
        kw |= dict(mutability=torch.tensor(codes, dtype=torch.int8), **box)
    elif case == "monotone_start":
        codes = [INCREASE, DECREASE] * 4
        start = x + 0.2 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
        kw |= dict(mutability=torch.tensor(codes, dtype=torch.int8), start=start, tau=None, **box)
    elif case == "plain":
        gen = Generic(lambda_cost=0.0)
        kw |= dict(tau=None)
    else:
        x[:, 1:4] = torch.nn.functional.one_hot(torch.arange(61) % 3, 3).float()
        kw |= dict(categorical=CategoricalProjection([[1, 2, 3], [5]]), **box)

    def run():
        rng = torch.Generator().manual_seed(3)
        with warnings.catch_warnings():  # (e.g. no resized `out=` block buffer)
            warnings.simplefilter("error")
            return search_counterfactuals(model, x, target, gen, rng=rng, **kw)

    one_block = run()
    monkeypatch.setattr(search, "BLOCK_BYTES", 3 * d * 4)  # 3 rows per block
    blocks = run()
    for a, b in zip(_bits(one_block), _bits(blocks), strict=True):
        assert torch.equal(a, b)
    assert one_block.steps.float().mean() > 3
    if kw["tau"] is not None:
        assert len(set(one_block.steps.tolist())) > 3  # the working set shrinks step by step


def test_uniform_bound_becomes_one_number_only_when_exact():
    """`search._uniform`: a (d,) bound of the state's dtype with equal entries is passed to the clamp
    as that number; anything else — None, 0-dim, empty, other dtype, unequal — as it is."""
    from cftrain.search import _uniform

    f32 = torch.float32
    assert _uniform(None, f32) is None
    for same in (torch.tensor(0.5), torch.empty(0), torch.full((3,), 0.5, dtype=torch.float64)):
        assert _uniform(same, f32) is same
    unequal = torch.tensor([1.0, 1.0, 2.0])
    assert _uniform(unequal, f32) is unequal
    assert _uniform(torch.tensor([0.1, 0.1]), f32) == float(torch.tensor(0.1))  # exact in float32
    assert _uniform(torch.tensor([-3.0]), f32) == -3.0  # one feature
    assert isinstance(_uniform(torch.full((4,), 2.0), f32), float)


def test_step_mask_multiplier_only_where_a_zero_move_keeps_the_value():
    """`_StepMask.multiply`: the 1/0 column vector (0 on `none` columns, in the state's dtype) is set
    when every fixed start value is finite and none is −0.0 (+0.0 and negatives are fine);
    `add_to` gives base + mask(delta), in `delta` itself unless a monotone mask's `where` made a
    new tensor."""
    from cftrain.search import _StepMask

    like = torch.zeros(2, 4, dtype=torch.float64)
    for (values, expect), monotone in itertools.product((
        ([[0.0, -2.0], [1.5, 0.0]], True),
        ([[-0.0, 1.0], [1.0, 1.0]], False),
        ([[float("inf"), 1.0], [1.0, 1.0]], False),
        ([[float("nan"), 1.0], [1.0, 1.0]], False),
    ), (True, False)):  # fmt: skip
        codes = torch.tensor([NONE, BOTH, INCREASE if monotone else BOTH, NONE], dtype=torch.int8)
        mask = _StepMask(codes)
        mask.multiply(torch.tensor(values, dtype=torch.float64), like)
        if expect:
            assert torch.equal(mask.keep, torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64))
        else:
            assert mask.keep is None
        base = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
        delta = torch.tensor([[0.5, 0.5, -0.5, 0.5]], dtype=torch.float64)
        out = mask.add_to(base, delta)
        assert (out is delta) == (expect or not monotone)  # (a where() makes a new tensor)
        moved = [1.0, 2.5, 3.0 if monotone else 2.5, 4.0]
        assert torch.equal(out, torch.tensor([moved], dtype=torch.float64))
    free = _StepMask(torch.tensor([BOTH, BOTH], dtype=torch.int8))
    free.multiply(torch.empty(2, 0), like[:, :2])
    assert free.keep is None


def test_float64_search_runs_in_float64():
    """A float64 model and factuals: the step's block scratch and the ε-ball extremes take the
        state's dtype, and the result equals the float64 search one factual at a time (to float64
    round-off: a batch's matmul may sum in another order)."""
    model, x, target = _model_and_data(d=5, n=30, seed=7)
    model, x = model.double(), x.double()
    kw = dict(step_size=0.5, max_iter=10, tau=None, lower=torch.full((5,), -2.0, dtype=torch.float64),
              upper=torch.full((5,), 2.0, dtype=torch.float64))  # fmt: skip
    res = search_counterfactuals(model, x, target, ECCo(), **kw)
    assert res.counterfactual.dtype == res.adversarial.dtype == torch.float64
    one = search_counterfactuals(model, x[3:4], target[3:4], ECCo(), **kw)
    torch.testing.assert_close(one.counterfactual[0], res.counterfactual[3], rtol=0, atol=1e-12)
    assert not torch.equal(res.counterfactual, x)
