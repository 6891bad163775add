"""Properties of the search, the % reduction and the draws (hypothesis; method.md §2, §3, §6).

A modest `max_examples` keeps the fast suite fast; `deadline=None` because a search takes a few ms
to a few hundred ms depending on the drawn sizes.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cftrain.aggregate import percent_reduction
from cftrain.constraints import BOTH, DECREASE, INCREASE, NONE
from cftrain.evaluation.protocol import draw_individuals, draw_pairs
from cftrain.generators import ECCo, Generic
from cftrain.models import build_model
from cftrain.search import search_counterfactuals
from cftrain.training import draw_neighbours


@pytest.fixture(autouse=True, params=["fused", "eager"])
def search_step(request, monkeypatch):
    """Every test here runs with both implementations of the feature-space step: the compiled one
    (`cftrain.fused_step`, where it applies) and the eager PyTorch passes."""
    monkeypatch.setenv("CFTRAIN_FUSED_STEP", "on" if request.param == "fused" else "off")
    return request.param


# (the autouse `search_step` fixture only sets an environment variable: safe to share across examples)
SHARED = [HealthCheck.function_scoped_fixture]
FAST = settings(max_examples=25, deadline=None, suppress_health_check=SHARED)
SEARCH = settings(max_examples=15, deadline=None, suppress_health_check=SHARED)


@st.composite
def search_case(draw):
    d = draw(st.integers(2, 5))
    k = draw(st.integers(2, 3))
    n = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**16))
    codes = torch.tensor(draw(st.lists(st.sampled_from([NONE, BOTH, INCREASE, DECREASE]), min_size=d, max_size=d)), dtype=torch.int8)  # fmt: skip
    half = draw(st.floats(0.5, 3.0))
    eps = draw(st.floats(0.0, 1.0))
    g = torch.Generator().manual_seed(seed)
    lower = -half * (1 + torch.rand(d, generator=g))
    upper = half * (1 + torch.rand(d, generator=g))
    x = lower + (upper - lower) * torch.rand(n, d, generator=g)
    model = build_model("mlp", d, k, hidden=8, seed=seed)
    with torch.no_grad():
        pred = model(x).argmax(1)
    target = (pred + 1 + torch.randint(0, k - 1, (n,), generator=g)) % k
    generator = draw(st.sampled_from([Generic(lambda_cost=0.01), ECCo(lambda_cost=0.001, lambda_energy=5.0)]))  # fmt: skip
    batch = draw(st.integers(1, n))
    return model, x, target, codes, lower, upper, eps, generator, batch


@SEARCH
@given(search_case())
def test_search_respects_constraints_and_batching(case):
    model, x, target, codes, lower, upper, eps, generator, batch = case
    kw = dict(step_size=1.0, max_iter=15, tau=0.9, mutability=codes, lower=lower, upper=upper,
              epsilon=eps)  # fmt: skip
    res = search_counterfactuals(model, x, target, generator, **kw)
    move = res.counterfactual - x
    assert (move[:, codes == NONE] == 0).all()
    assert (move[:, codes == INCREASE] >= 0).all()
    assert (move[:, codes == DECREASE] <= 0).all()
    # The box holds up to one float32 rounding: the search re-adds the masked, clamped move to the
    # old state (s + (clamp(s + Δ) − s)), which can land one ulp outside a bound.
    assert (res.counterfactual >= lower - 1e-6).all() and (res.counterfactual <= upper + 1e-6).all()
    assert ((res.adversarial - x).abs().amax(1) <= eps + 1e-6).all()
    assert ((res.adversarial - x)[:, codes == NONE] == 0).all()
    parts = [
        search_counterfactuals(model, xb, tb, generator, **kw)
        for xb, tb in zip(x.split(batch), target.split(batch), strict=True)
    ]
    for name in ("counterfactual", "adversarial"):
        joined = torch.cat([getattr(p, name) for p in parts])
        torch.testing.assert_close(joined, getattr(res, name), rtol=0, atol=1e-5)
    for name in ("steps", "converged"):
        assert torch.equal(torch.cat([getattr(p, name) for p in parts]), getattr(res, name))


def _reduction_frame(seed, n_runs):
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(n_runs):
        for lam in (0.1, 1.0):
            bl = rng.uniform(0.5, 2.0)
            rows.append(("d", "vanilla", run, lam, bl))
            rows.append(("d", "full", run, lam, bl * rng.uniform(0.3, 1.5)))
    return pd.DataFrame(rows, columns=["dataset", "objective", "run", "lambda_energy", "m"])


@FAST
@given(st.integers(0, 2**16), st.integers(3, 12), st.floats(1e-3, 1e3), st.randoms(use_true_random=False))  # fmt: skip
def test_percent_reduction_invariant_to_scale_and_run_order(seed, n_runs, scale, rnd):
    df = _reduction_frame(seed, n_runs)
    base = percent_reduction(df, "m").iloc[0]
    scaled = percent_reduction(df.assign(m=df["m"] * scale), "m").iloc[0]
    labels = list(range(n_runs))
    rnd.shuffle(labels)
    permuted = df.assign(run=df["run"].map(dict(enumerate(labels)))).sample(
        frac=1, random_state=seed
    )
    perm = percent_reduction(permuted, "m").iloc[0]
    for other in (scaled, perm):
        for col in ("n_runs", "mean_ratio", "reduction", "se"):
            assert other[col] == pytest.approx(base[col], rel=1e-9, abs=1e-9), col
        assert other["significant"] == base["significant"]
    for col in ("delta_lower", "delta_upper"):
        assert scaled[col] == pytest.approx(scale * base[col], rel=1e-9, abs=1e-12)
        assert perm[col] == pytest.approx(base[col], rel=1e-9, abs=1e-12)


@FAST
@given(st.integers(2, 6), st.integers(0, 40), st.integers(0, 5), st.integers(0, 30), st.integers(0, 2**32 - 1))  # fmt: skip
def test_protocol_draws_seeded_and_valid(n_classes, n_individuals, runs, n_test, seed):
    def both():
        gen = np.random.default_rng(seed)
        fc, tc = draw_pairs(n_classes, n_individuals, gen)
        predicted = gen.integers(0, n_classes, n_test)
        return fc, tc, predicted, *draw_individuals(predicted, fc, runs, gen)

    fc, tc, predicted, index, ok = both()
    for a, b in zip((fc, tc, predicted, index, ok), both(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert fc.shape == tc.shape == (n_individuals,)
    assert ((0 <= fc) & (fc < n_classes) & (0 <= tc) & (tc < n_classes) & (fc != tc)).all()
    assert index.shape == ok.shape == (runs, n_individuals)
    assert ((index[ok] >= 0) & (index[ok] < n_test)).all()
    assert (predicted[index[ok]] == np.broadcast_to(fc, index.shape)[ok]).all()
    present = np.isin(fc, predicted)
    assert (ok == present[None, :]).all() and (index[~ok] == -1).all()


@FAST
@given(st.integers(1, 5), st.integers(0, 30), st.integers(1, 40), st.integers(0, 2**31))
def test_draw_neighbours_seeded_and_valid(n_classes, n_draws, n_train, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, n_classes, (n_train,), generator=g)
    present = torch.unique(y)
    target = present[torch.randint(0, len(present), (n_draws,), generator=g)]
    a = draw_neighbours(y, target, n_classes, torch.Generator().manual_seed(seed))
    b = draw_neighbours(y, target, n_classes, torch.Generator().manual_seed(seed))
    assert torch.equal(a, b) and a.shape == (n_draws,)
    assert ((a >= 0) & (a < n_train)).all()
    assert torch.equal(y[a], target)


@settings(max_examples=2000, deadline=None)
@given(
    st.floats(width=32, allow_nan=False, allow_infinity=False),
    st.floats(width=32, allow_nan=False, allow_infinity=False),
)
def test_round_trip_of_a_rounded_sum_is_the_sum(s, d):
    """The premise of the search step's shortcut (`cftrain.search`, CE.jl `generate_perturbations`
    then `update!`): with a = fl(s + d) in round-to-nearest, fl(fl(a − s) + s) = a bit for bit,
    so CE.jl's s + ((s − η·g) − s) is s − η·g itself — in float32, as the search runs, for any
    finite pair whose sum and difference stay finite — except a = −0.0 (s = d = −0.0), which the
    round trip turns into +0.0 (the search takes it while its state may hold −0.0)."""
    s32, d32 = torch.tensor(s, dtype=torch.float32), torch.tensor(d, dtype=torch.float32)
    a = s32 + d32
    trip = a - s32
    if not (torch.isfinite(a) and torch.isfinite(trip)):
        return
    expected = torch.tensor(0.0) if a == 0 and torch.signbit(a) else a
    assert torch.equal((trip + s32).view(torch.int32), expected.view(torch.int32))
