"""The compiled search step (`cftrain.fused_step`, performance only) against the eager step of
`cftrain.search` (method.md §3): the same values bit for bit, where it applies and only there."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cftrain import fused_step
from cftrain.constraints import BOTH, INCREASE, NONE
from cftrain.generators import ECCo, Generic
from cftrain.search import search_counterfactuals

FLOAT_MAX = torch.finfo(torch.float32).max
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.3, -2.5, 1e-45, -1e-45, 3e38, -3e38, float("inf"), -float("inf")]
FIELDS = ("counterfactual", "adversarial", "steps", "converged")
SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _bits(t):
    return t.view(torch.int32) if t.dtype == torch.float32 else t


def _run(monkeypatch, mode, *args, **kw):
    monkeypatch.setenv(fused_step.ENV, mode)
    return search_counterfactuals(*args, **kw)


@st.composite
def step_case(draw):
    """A linear model whose weights may be huge or infinite (so gradients overflow or turn NaN),
    factuals holding ±0, ±inf, subnormals and huge values, every kind of box, mask, λ and η."""
    d = draw(st.integers(1, 7))
    n = draw(st.integers(1, 9))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    entries = st.one_of(st.sampled_from(SPECIAL), st.floats(-4, 4, width=32))
    x = torch.tensor(draw(st.lists(entries, min_size=n * d, max_size=n * d)), dtype=torch.float32)
    x = x.reshape(n, d)
    model = torch.nn.Linear(d, 2)
    with torch.no_grad():
        model.weight.copy_(torch.randn(2, d, generator=g))
        model.bias.zero_()
        scale = draw(st.sampled_from([1.0, 1e20, 3e38, float("inf")]))
        if scale != 1.0:
            model.weight[:, draw(st.integers(0, d - 1))] *= scale
    target = torch.tensor(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    box = draw(st.sampled_from(["none", "uniform", "per-feature", "lower", "upper", "infinite"]))
    lower = upper = None
    if box == "uniform":
        lower, upper = torch.full((d,), -1.5), torch.full((d,), 2.0)
    elif box == "per-feature":
        lower, upper = -torch.rand(d, generator=g) * 3, torch.rand(d, generator=g) * 3
    elif box == "lower":
        lower = torch.zeros(d)
    elif box == "upper":
        upper = torch.full((d,), 0.5)
    elif box == "infinite":
        lower, upper = torch.full((d,), -float("inf")), torch.rand(d, generator=g) * 2
        lower[0] = -1.0
    codes = None
    if draw(st.booleans()):
        codes = torch.full((d,), BOTH, dtype=torch.int8)
        codes[draw(st.integers(0, d - 1))] = NONE
    generator = draw(
        st.sampled_from(
            [
                Generic(lambda_cost=0.0),
                Generic(lambda_cost=0.5),
                ECCo(lambda_cost=1e-3, lambda_energy=5.0),
            ]
        )
    )
    kw = dict(
        step_size=draw(st.sampled_from([0.1, 1.0, 3.0, 1e30])),
        max_iter=draw(st.integers(0, 6)),
        tau=draw(st.sampled_from([None, 0.5, 0.9])),
        mutability=codes,
        lower=lower,
        upper=upper,
        epsilon=draw(st.sampled_from([0.0, 0.3, float("inf")])),
    )
    return model, x, target, generator, kw


@SETTINGS
@given(step_case())
def test_fused_search_equals_eager_bit_for_bit(monkeypatch, case):
    """Whatever the values — overflowing and NaN gradients, infinite factuals, ±0, subnormals,
    one-sided and infinite boxes, λ = 0 or not, η > 1 — the search with the compiled step returns
    the eager search's tensors bit for bit (sign of zero included)."""
    model, x, target, generator, kw = case
    fused = _run(monkeypatch, "on", model, x, target, generator, **kw)
    eager = _run(monkeypatch, "off", model, x, target, generator, **kw)
    for name in FIELDS:
        assert torch.equal(_bits(getattr(fused, name)), _bits(getattr(eager, name))), name


def _spy(monkeypatch):
    calls = []
    real = fused_step.FusedStep.__call__

    def spy(self, *args):
        calls.append(args[0].shape)
        return real(self, *args)

    monkeypatch.setattr(fused_step.FusedStep, "__call__", spy)
    return calls


def _mnist_like(n=40, d=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(d, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x = torch.rand(n, d, generator=g) * 2 - 1
    target = torch.randint(0, 3, (n,), generator=g)
    box = dict(lower=torch.full((d,), -1.0), upper=torch.full((d,), 1.0))
    return model, x, target, box


def test_fused_step_runs_for_the_paper_search_and_equals_eager(monkeypatch):
    """The default search (ECCo, immutable columns, the box, τ with samples leaving) takes the
    compiled step at every step, and its result is the eager one."""
    model, x, target, box = _mnist_like()
    codes = torch.full((50,), BOTH, dtype=torch.int8)
    codes[:5] = NONE
    kw = dict(step_size=0.1, max_iter=30, tau=0.5, mutability=codes, **box)
    gen = ECCo(lambda_cost=1e-3, lambda_energy=5.0)
    calls = _spy(monkeypatch)
    fused = _run(monkeypatch, "on", model, x, target, gen, **kw)
    assert len(calls) == int(fused.steps.max())  # one call per step, on the rows still searching
    assert calls[0][0] == 40 and calls[-1][0] == int((fused.steps == fused.steps.max()).sum())
    eager = _run(monkeypatch, "off", model, x, target, gen, **kw)
    assert fused.steps.float().mean() > 2
    for name in FIELDS:
        assert torch.equal(_bits(getattr(fused, name)), _bits(getattr(eager, name))), name


@pytest.mark.parametrize(
    "case",
    [
        "switched off",
        "float64",
        "increase",
        "nan start",
        "outside box",
        "negative zero bound",
    ],  # fmt: skip
)
def test_eager_step_where_the_fused_one_does_not_apply(monkeypatch, case):
    """No compiled step for what it does not reproduce (`fused_step.applies`, search.py)."""
    model, x, target, box = _mnist_like()
    kw = dict(step_size=0.1, max_iter=3, tau=None, **box)
    mode = "off" if case == "switched off" else "on"
    if case == "float64":
        model, x, kw = model.double(), x.double(), dict(kw, lower=box["lower"].double(), upper=box["upper"].double())  # fmt: skip
    if case == "increase":
        kw["mutability"] = torch.full((50,), INCREASE, dtype=torch.int8)
    if case == "nan start":
        x[2, 3] = float("nan")
    if case == "outside box":  # an immutable value outside the box: the `protect` re-mask
        x[0, 0] = 3.0
        codes = torch.full((50,), BOTH, dtype=torch.int8)
        codes[0] = NONE
        kw["mutability"] = codes
    if case == "negative zero bound":
        kw["lower"] = kw["lower"].clone()
        kw["lower"][1] = -0.0
    calls = _spy(monkeypatch)
    _run(monkeypatch, mode, model, x, target, Generic(lambda_cost=0.1), **kw)
    assert calls == []


def test_kernel_hand_values():
    """One step by hand. Row 0: λ·sgn pushes each feature's gradient (g + 0.5·sgn(s − x_fact)),
    −η·g with η = 0.5, column 2 immutable (keep 0), clamp to [−1, 1]. Row 1: a NaN gradient does not
    move its feature, +inf moves it to the lower bound, −inf to the upper one; column 2 stays."""
    g = torch.tensor([[1.0, -1.0, 4.0, 0.0], [float("nan"), float("inf"), 2.0, -float("inf")]])
    s = torch.tensor([[0.5, -0.5, 0.25, 0.9], [0.1, 0.2, 0.3, 0.4]])
    x_fact = torch.tensor([[0.0, 0.0, 0.25, 0.9], [0.1, 0.2, 0.3, 0.4]])
    keep = torch.tensor([1.0, 1.0, 0.0, 1.0])
    step = fused_step.FusedStep(
        keep, torch.full((4,), -1.0), torch.full((4,), 1.0), l1_weight=0.5, step_size=0.5
    )
    dist = torch.empty(2)
    step(g, s, x_fact, dist)
    # row 0: g = (1.5, −1.5, 4, 0); x = s − 0.5·g = (−0.25, 0.25, 0.25 (kept), 0.9)
    # row 1: g + 0.5·sgn(0) = g; Δ = (0, −max, −1 (kept), +max) → x = (0.1, −1, 0.3, 1)
    expected = torch.tensor([[-0.25, 0.25, 0.25, 0.9], [0.1, -1.0, 0.3, 1.0]])
    assert torch.equal(g, expected)
    assert torch.equal(dist, torch.stack([torch.tensor(0.25), (expected[1, 1] - 0.2).abs()]))


def test_distance_is_nan_when_an_entry_is_nan_and_the_largest_gap_otherwise():
    """The ε distance takes the maximum over bit patterns: NaN beats +inf, and the largest |gap|
    wins over the rest, whatever its sign."""
    step = fused_step.FusedStep(torch.ones(3), None, None, l1_weight=0.0, step_size=0.1)
    g = torch.zeros(3, 3)
    s = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, -7.0, 3.0]])
    x_fact = torch.tensor([[float("nan"), 1.0, 2.0], [float("inf"), 0.0, 0.0], [0.0, 0.0, 0.0]])
    dist = torch.empty(3)
    step(g, s, x_fact, dist)
    assert torch.isnan(dist[0]) and dist[1] == float("inf") and dist[2] == 7.0


def test_warm_loads_the_kernel_and_respects_the_switch(monkeypatch):
    assert fused_step.warm() is True
    monkeypatch.setenv(fused_step.ENV, "off")
    assert fused_step.warm() is False and not fused_step.enabled()


def test_float32_constants_are_torch_scalars_cast_to_float32():
    """η and λ enter as float32, as PyTorch casts a Python scalar for a float32 tensor: −η·g
    with η = 0.1 is g·float32(−0.1), not a float64 product rounded."""
    step = fused_step.FusedStep(torch.ones(1), None, None, l1_weight=0.0, step_size=0.1)
    g = torch.tensor([[3.0]])
    s = torch.zeros(1, 1)
    step(g, s, s, torch.empty(1))
    assert g.item() == np.float32(3.0) * np.float32(-0.1)
    assert g.item() == (torch.tensor([3.0]) * -0.1).item()


def test_without_numba_the_search_warns_and_runs_the_eager_step(monkeypatch):
    """numba missing (an unsupported platform): `_kernel` warns and gives None, `applies` is False,
    and the search still runs (eagerly) with the compiled one's result."""
    import sys

    model, x, target, box = _mnist_like()
    kw = dict(step_size=0.1, max_iter=5, tau=None, **box)
    compiled = _run(monkeypatch, "on", model, x, target, Generic(lambda_cost=0.1), **kw)
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    with pytest.warns(UserWarning, match="numba is not installed"):
        assert fused_step._kernel.__wrapped__() is None
    monkeypatch.setattr(fused_step, "_kernel", fused_step._kernel.__wrapped__)
    with pytest.warns(UserWarning, match="eager step"):
        assert not fused_step.applies(x, x, None, False, box["lower"], box["upper"])
        eager = search_counterfactuals(model, x, target, Generic(lambda_cost=0.1), **kw)
    assert torch.equal(_bits(eager.counterfactual), _bits(compiled.counterfactual))
