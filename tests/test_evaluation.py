"""Test-time protocol (method.md §6.1) and per-run scores (§6.2) on hand-built inputs."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from cftrain.evaluation import protocol
from cftrain.evaluation.protocol import draw_individuals, draw_pairs
from cftrain.evaluation.scores import score_counterfactuals
from cftrain.generators import ECCo
from cftrain.store import CounterfactualSet


def _mmd_hand(a, b, ell):
    """Unbiased MMD² written out with plain loops (independent of cftrain.metrics)."""
    k = lambda p, q: math.exp(-sum((u - v) ** 2 for u, v in zip(p, q, strict=True)) / (2 * ell**2))  # noqa: E731
    m, n = len(a), len(b)
    xx = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(p, q) for p in a for q in b) / (m * n)
    return xx + yy - 2 * xy


def test_score_counterfactuals_hand_set_with_invalid_rows():
    # Reference: class 0 at (0, 0) twice, class 1 at (1, 1) and (1, 3); every valid CE is equally
    # far from all samples of its class, so IP is exact whatever the draws.
    x_ref = np.array([[0, 0], [0, 0], [1, 1], [1, 3]], dtype=np.float32)
    y_ref = np.array([0, 0, 1, 1])
    cf = np.array(
        [[0, 0], [2, 0], [5, 5],  # run 0: valid, valid, invalid
         [3, 2], [3, 2], [9, 9],  # run 1: valid, valid, invalid
         [3, 3]],  # run 2: invalid only
        dtype=np.float32,
    )  # fmt: skip
    target = np.array([0, 0, 1, 1, 1, 0, 1])
    predicted = np.array([0, 0, 0, 1, 1, 1, 0])
    n = len(cf)
    cs = CounterfactualSet(
        factual=np.zeros_like(cf), counterfactual=cf, target=target,
        factual_label=1 - target, converged=np.ones(n, bool), steps=np.zeros(n, np.int32),
        extra={"run": np.array([0, 0, 0, 1, 1, 1, 2]), "predicted": predicted},
    )  # fmt: skip
    out = score_counterfactuals(cs, x_ref, y_ref, mmd_length_scale=1.0, ip_draws=50)
    assert out["run"].tolist() == [0, 1, 2]
    assert out["n"].tolist() == [3, 3, 1]
    assert out["n_valid"].tolist() == [2, 2, 0]
    assert out["validity"].tolist() == pytest.approx([2 / 3, 2 / 3, 0.0])
    # cost = ‖cf − 0‖₁ of the valid rows: run 0 (0 + 2)/2, run 1 (5 + 5)/2
    assert out["cost"].tolist()[:2] == pytest.approx([1.0, 5.0])
    # IP: run 0 distances to (0,0): 0, 2; run 1 to (1,1) and (1,3): 3, 3
    assert out["ip"].tolist()[:2] == pytest.approx([1.0, 3.0])
    ip_star_0 = _mmd_hand([[0, 0], [2, 0]], [[0, 0], [0, 0]], 1.0)
    ip_star_1 = _mmd_hand([[3, 2], [3, 2]], [[1, 1], [1, 3]], 1.0)
    assert out["ip_star"].tolist()[:2] == pytest.approx([max(ip_star_0, 0), max(ip_star_1, 0)])
    assert ip_star_1 > 0.1
    assert out.iloc[2][["cost", "ip", "ip_star"]].isna().all()


def test_score_counterfactuals_run_without_valid_ce_is_nan_without_a_warning():
    """A run with no valid CE (run 1), or whose valid CEs leave every IP* class side below 2 samples
    (run 0: one valid CE), scores NaN for cost, IP and IP* without taking the mean of an empty
    array (no numpy RuntimeWarning: the warnings filter turns one into an error)."""
    x_ref = np.array([[0, 0], [0, 0], [1, 1], [1, 3]], dtype=np.float32)
    y_ref = np.array([0, 0, 1, 1])
    cf = np.array([[0, 0], [5, 5], [3, 3]], dtype=np.float32)
    target = np.array([0, 1, 1])
    cs = CounterfactualSet(
        factual=np.zeros_like(cf), counterfactual=cf, target=target, factual_label=1 - target,
        converged=np.ones(3, bool), steps=np.zeros(3, np.int32),
        extra={"run": np.array([0, 0, 1]), "predicted": np.array([0, 0, 0])},
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = score_counterfactuals(cs, x_ref, y_ref, ip_draws=5)
    assert out["n_valid"].tolist() == [1, 0]
    assert out["validity"].tolist() == [0.5, 0.0]
    assert out["cost"].iloc[0] == 0.0 and out["ip"].iloc[0] == 0.0
    assert math.isnan(out["ip_star"].iloc[0])
    assert out.iloc[1][["cost", "ip", "ip_star"]].isna().all()


class Lin(nn.Module):
    def __init__(self, seed):
        super().__init__()
        self.weight = torch.randn(3, 2, generator=torch.Generator().manual_seed(seed))

    def forward(self, x):
        return x @ self.weight.T


SETTINGS = {"seed": 4, "n_individuals": 25, "runs": 3, "step_size": 0.1, "max_iter": 5}


def _run(model, x, y):
    return protocol.test_time_counterfactuals(
        model, x, y, 3, generator=ECCo(lambda_cost=0.0, lambda_energy=1.0), settings=SETTINGS,
        setting_index=1, train_seed=7,
        mutability=None, lower=None, upper=None, tau=0.9,
    )  # fmt: skip


def test_two_models_get_identical_pairs_and_runs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 2, generator=g) * 3
    y = torch.randint(0, 3, (300,), generator=g)
    models = [Lin(1), Lin(2)]
    sets = [_run(m, x, y) for m in models]
    for (cs, info), model in zip(sets, models, strict=True):
        assert info == {"pairs": 25, "dropped": 0}
        with torch.no_grad():
            pred_test = model(x).argmax(1).numpy()
            pred_factual = model(torch.as_tensor(cs.factual)).argmax(1).numpy()
        # Every factual is the test sample it names, predicted (by this model) as its factual class.
        np.testing.assert_array_equal(cs.factual, x.numpy()[cs.extra["test_index"]])
        np.testing.assert_array_equal(pred_factual, pred_test[cs.extra["test_index"]])
        np.testing.assert_array_equal(cs.factual_label, y.numpy()[cs.extra["test_index"]])
        assert (pred_factual != cs.target).all()
        assert np.unique(cs.extra["run"]).tolist() == [0, 1, 2]
        with torch.no_grad():
            pred_cf = model(torch.as_tensor(cs.counterfactual)).argmax(1).numpy()
        np.testing.assert_array_equal(cs.extra["predicted"], pred_cf)
    (a, _), (b, _) = sets
    np.testing.assert_array_equal(a.target, b.target)
    np.testing.assert_array_equal(a.extra["run"], b.extra["run"])
    np.testing.assert_array_equal(a.extra["pair"], b.extra["pair"])
    factual_class = [m(torch.as_tensor(cs.factual)).argmax(1).numpy() for m, (cs, _) in zip(models, sets, strict=True)]  # fmt: skip
    np.testing.assert_array_equal(*factual_class)  # same factual class per (run, pair)
    assert not np.array_equal(a.extra["test_index"], b.extra["test_index"])  # models do differ


def test_draw_pairs_and_individuals():
    gen = np.random.default_rng(0)
    fc, tc = draw_pairs(4, 2000, gen)
    assert (fc != tc).all() and set(fc) == set(tc) == {0, 1, 2, 3}
    predicted = np.array([2, 0, 2, 2, 0])
    index, ok = draw_individuals(predicted, np.array([0, 2, 1] * 50), 4, gen)
    assert index.shape == ok.shape == (4, 150)
    assert (ok[:, 0::3] & ok[:, 1::3]).all() and not ok[:, 2::3].any()  # nobody is predicted 1
    assert (index[~ok] == -1).all()
    assert (predicted[index[:, 0::3]] == 0).all() and (predicted[index[:, 1::3]] == 2).all()
    assert set(index[:, 1::3].ravel()) == {0, 2, 3}  # uniform over the class: all appear


def test_score_counterfactuals_defaults_by_hand():
    """Defaults ip_draws = 1000, mmd_samples = 100, ℓ = 5, seed = 0, with the draws replayed from
    generators seeded 0 in the documented order: IP draws per target class (with replacement) from
    a torch generator, and per run and class the IP* subsamples (the first 100 of a permutation of
    each side, CEs first) from a numpy generator."""
    pool0 = [[0.0, 0.0], [4.0, 0.0]]  # class 0: two points, so IP depends on the draws
    pool1 = [
        [float(i), 1.0] for i in range(101)
    ]  # class 1: 101 points, one dropped by the subsample
    x_ref = np.array(pool0 + pool1, dtype=np.float32)
    y_ref = np.array([0, 0] + [1] * 101)
    cf = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 1.0], [50.0, 1.0], [7.0, 3.0]], dtype=np.float32)
    target = np.array([0, 0, 1, 1, 1])
    cs = CounterfactualSet(
        factual=np.zeros_like(cf), counterfactual=cf, target=target, factual_label=1 - target,
        converged=np.ones(5, bool), steps=np.zeros(5, np.int32),
        extra={"run": np.zeros(5, np.int64), "predicted": target.copy()},
    )  # fmt: skip
    out = score_counterfactuals(cs, x_ref, y_ref)

    g = torch.Generator().manual_seed(0)
    counts = {c: torch.bincount(torch.randint(len(p), (1000,), generator=g), minlength=len(p)).tolist() for c, p in ((0, pool0), (1, pool1))}  # fmt: skip
    l1 = lambda a, b: sum(abs(u - v) for u, v in zip(a, b, strict=True))  # noqa: E731
    pools = {0: pool0, 1: pool1}
    ip = [sum(n * l1(row, p) for n, p in zip(counts[t], pools[t], strict=True)) / 1000 for row, t in zip(cf.tolist(), target, strict=True)]  # fmt: skip
    g_np = np.random.default_rng(0)
    g_np.permutation(2), g_np.permutation(2), g_np.permutation(3)  # class 0 sides, class 1 CEs
    keep = g_np.permutation(101)[:100].tolist()  # class 1 reference subsample
    mmd0 = _mmd_hand(cf[:2].tolist(), pool0, 5.0)
    mmd1 = _mmd_hand(cf[2:].tolist(), [pool1[i] for i in keep], 5.0)
    assert out["ip"].iloc[0] == pytest.approx(sum(ip) / 5, rel=1e-5)
    assert 0 < counts[0][1] < 1000  # both class-0 points drawn: IP really depends on the draws
    assert out["ip_star"].iloc[0] == pytest.approx((max(mmd0, 0) + max(mmd1, 0)) / 2, rel=1e-6)
    assert out["cost"].iloc[0] == pytest.approx((0 + 1 + 3 + 51 + 10) / 5)
    assert out["validity"].iloc[0] == 1.0 and out["n_valid"].iloc[0] == 5
    # Non-default ip_draws = 7 and mmd_samples = 2 reach the metrics (same replay, seed 3).
    out = score_counterfactuals(cs, x_ref, y_ref, ip_draws=7, mmd_samples=2, seed=3)
    g = torch.Generator().manual_seed(3)
    counts = {c: torch.bincount(torch.randint(len(p), (7,), generator=g), minlength=len(p)).tolist() for c, p in ((0, pool0), (1, pool1))}  # fmt: skip
    ip = [sum(n * l1(row, p) for n, p in zip(counts[t], pools[t], strict=True)) / 7 for row, t in zip(cf.tolist(), target, strict=True)]  # fmt: skip
    g_np = np.random.default_rng(3)
    g_np.permutation(2), g_np.permutation(2)  # class 0: both sides have exactly 2 rows
    ces1 = [cf[2 + i].tolist() for i in g_np.permutation(3)[:2].tolist()]
    ref1 = [pool1[i] for i in g_np.permutation(101)[:2].tolist()]
    mmd1 = _mmd_hand(ces1, ref1, 5.0)
    assert out["ip"].iloc[0] == pytest.approx(sum(ip) / 5, rel=1e-5)
    assert out["ip_star"].iloc[0] == pytest.approx((max(mmd0, 0) + max(mmd1, 0)) / 2, rel=1e-6)


def test_draw_individuals_hand_indices_and_empty_test_set():
    """Index = ⌊u·c⌋-th test sample (in index order) predicted as the factual class, u ~ U[0, 1)
    from the generator (runs × pairs, row-major); −1 and ok = False where c = 0."""
    predicted = np.array([2, 0, 2, 2, 0, 1, 2])
    fc = np.array([0, 2, 3, 1, 2])  # class 3: predicted for no test sample
    index, ok = draw_individuals(predicted, fc, 3, np.random.default_rng(5))
    u = np.random.default_rng(5).random((3, 5))
    members = {0: [1, 4], 1: [5], 2: [0, 2, 3, 6], 3: []}
    for r in range(3):
        for p, c in enumerate(fc):
            m = members[int(c)]
            assert ok[r, p] == bool(m)
            assert index[r, p] == (m[int(u[r, p] * len(m))] if m else -1)
    index, ok = draw_individuals(np.array([], dtype=np.int64), np.array([0, 1]), 2, np.random.default_rng(0))  # fmt: skip
    assert index.tolist() == [[-1, -1], [-1, -1]] and not ok.any()


def test_test_time_protocol_seed_pairs_and_search_settings():
    """Pairs from default_rng(seed·1 000 003 + train_seed·101 + setting); the search runs ECCo with
    the setting's λ_cost, η, T, the model's λ_egy, τ, mutability and box (non-default values)."""
    from cftrain.constraints import BOTH, INCREASE
    from cftrain.generators import ECCo
    from cftrain.search import search_counterfactuals

    assert protocol.setting_seed(2, 3, 4) == 2 * 1_000_003 + 3 * 101 + 4
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 2, generator=g) * 3
    y = torch.randint(0, 3, (200,), generator=g)
    model = Lin(1)
    settings = {"seed": 4, "n_individuals": 12, "runs": 2, "step_size": 1.5, "max_iter": 12}
    generator = protocol.test_time_generator({"name": "ecco", "lambda_cost": 0.05}, 2.0)
    assert generator == ECCo(lambda_cost=0.05, lambda_energy=2.0)  # the sweep sets λ_egy
    codes = torch.tensor([INCREASE, BOTH], dtype=torch.int8)
    lower, upper = torch.tensor([-9.0, -3.0]), torch.tensor([9.0, 3.0])
    cs, info = protocol.test_time_counterfactuals(
        model, x, y, 3, generator=generator, settings=settings, setting_index=1, train_seed=7,
        mutability=codes, lower=lower, upper=upper, tau=0.8,
    )  # fmt: skip
    rng = np.random.default_rng(4 * 1_000_003 + 7 * 101 + 1)
    factual_class = rng.integers(0, 3, 12)
    shift = rng.integers(0, 2, 12)
    target = shift + (shift >= factual_class)
    assert info == {"pairs": 12, "dropped": 0}
    np.testing.assert_array_equal(cs.target, np.tile(target, 2))
    np.testing.assert_array_equal(cs.extra["pair"], np.tile(np.arange(12), 2))
    np.testing.assert_array_equal(cs.extra["run"], np.repeat([0, 1], 12))
    with torch.no_grad():
        pred = model(x).argmax(1).numpy()
    np.testing.assert_array_equal(pred[cs.extra["test_index"]], np.tile(factual_class, 2))
    res = search_counterfactuals(
        model, torch.as_tensor(cs.factual), torch.as_tensor(cs.target), ECCo(lambda_cost=0.05, lambda_energy=2.0),
        step_size=1.5, max_iter=12, tau=0.8, mutability=codes, lower=lower, upper=upper,
    )  # fmt: skip
    np.testing.assert_array_equal(cs.counterfactual, res.counterfactual.numpy())
    np.testing.assert_array_equal(cs.steps, res.steps.numpy())
    np.testing.assert_array_equal(cs.converged, res.converged.numpy())
    assert cs.converged.any() and not cs.converged.all()
    moved = cs.counterfactual[:, 0] - cs.factual[:, 0]
    assert (moved >= 0).all() and (moved > 0).any()  # feature 0 may only increase
    assert (cs.counterfactual[:, 1] == 3.0).any() and (cs.counterfactual[:, 1] == -3.0).any()


class _TwoOfThree(nn.Module):
    """Logits (x₀, −x₀, −10) in eval mode: class 2 is never predicted. Train mode negates them
    (then only class 2 is predicted), so predictions made in the wrong mode show."""

    def forward(self, x):
        logits = torch.stack([x[:, 0], -x[:, 0], torch.full_like(x[:, 0], -10.0)], dim=1)
        return -logits if self.training else logits


def test_test_time_protocol_eval_mode_and_dropped_pairs():
    """Pairs whose factual class the model never predicts are dropped (per run); predictions are
    made in eval mode even when the model comes in train mode."""
    x = torch.linspace(-2, 2, 40)[:, None].repeat(1, 2)
    y = (x[:, 0] < 0).long()
    model = _TwoOfThree().train()
    settings = {"seed": 1, "n_individuals": 20, "runs": 3, "step_size": 0.1, "max_iter": 3}
    cs, info = protocol.test_time_counterfactuals(
        model, x, y, 3, generator=ECCo(lambda_cost=0.0, lambda_energy=1.0), settings=settings,
        setting_index=0, train_seed=2,
        mutability=None, lower=None, upper=None, tau=0.9,
    )  # fmt: skip
    factual_class = np.random.default_rng(1 * 1_000_003 + 2 * 101 + 0).integers(0, 3, 20)
    n_two = int((factual_class == 2).sum())
    assert 0 < n_two < 20
    assert info == {"pairs": 20, "dropped": 3 * n_two}
    assert len(cs.target) == 3 * (20 - n_two)
    kept = np.tile(factual_class != 2, 3)
    np.testing.assert_array_equal(cs.extra["pair"], np.tile(np.arange(20), 3)[kept])
    np.testing.assert_array_equal(cs.extra["run"], np.repeat(np.arange(3), 20)[kept])
    fc = np.tile(factual_class, 3)[kept]
    np.testing.assert_array_equal(np.where(cs.factual[:, 0] > 0, 0, 1), fc)  # eval-mode classes
    with torch.no_grad():
        pred_cf = model.eval()(torch.as_tensor(cs.counterfactual)).argmax(1).numpy()
    np.testing.assert_array_equal(cs.extra["predicted"], pred_cf)


def test_test_time_protocol_uses_the_settings_energy_weight():
    """λ_egy of the setting reaches ECCo (test_time_generator): with T = 50 (φ > 0, unlike T ≤ 12 where φ ≡ 0) the result
    equals a direct ECCo(λ_egy = 2) search and differs from λ_egy = 0."""
    from cftrain.search import search_counterfactuals

    g = torch.Generator().manual_seed(3)
    x = torch.randn(150, 2, generator=g) * 3
    y = torch.randint(0, 3, (150,), generator=g)
    model = Lin(4)
    settings = {**SETTINGS, "max_iter": 50, "step_size": 0.5}
    out = {}
    for lam in (2.0, 0.0):
        out[lam], _ = protocol.test_time_counterfactuals(
            model, x, y, 3, generator=protocol.test_time_generator({"name": "ecco", "lambda_cost": 0.0}, lam),
            settings=settings, setting_index=0, train_seed=1,
            mutability=None, lower=None, upper=None, tau=1.0,
        )  # fmt: skip
    cs = out[2.0]
    res = search_counterfactuals(
        model, torch.as_tensor(cs.factual), torch.as_tensor(cs.target), ECCo(lambda_cost=0.0, lambda_energy=2.0),
        step_size=0.5, max_iter=50, tau=1.0,
    )  # fmt: skip
    np.testing.assert_array_equal(cs.counterfactual, res.counterfactual.numpy())
    np.testing.assert_array_equal(cs.factual, out[0.0].factual)  # same pairs and individuals
    assert not np.allclose(cs.counterfactual, out[0.0].counterfactual)


def test_test_time_protocol_output_dtypes():
    """The HDF5 contract's integer columns: run/pair int32, indices/labels/predictions int64,
    also for an empty test set."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 2, generator=g)
    y = torch.randint(0, 3, (60,), generator=g)
    cs, _ = _run(Lin(1), x, y)
    assert cs.extra["run"].dtype == np.int32 and cs.extra["pair"].dtype == np.int32
    assert cs.extra["test_index"].dtype == np.int64 and cs.extra["predicted"].dtype == np.int64
    assert cs.target.dtype == np.int64
    factual, target = draw_pairs(3, 10, np.random.default_rng(0))
    assert factual.dtype == np.int64 and target.dtype == np.int64
    index, ok = draw_individuals(np.array([], dtype=np.int64), np.array([0, 1]), 2, np.random.default_rng(0))  # fmt: skip
    assert index.dtype == np.int64 and ok.dtype == bool


class _LastColumn(nn.Module):
    """Logits from column 3 only (w = (−1, 0, 1)): the one-hot group in columns 0–2 gets no gradient."""

    def forward(self, x):
        return x[:, 3:4] * torch.tensor([[-1.0, 0.0, 1.0]])


def test_test_time_protocol_projects_categorical_groups_with_seeded_ties():
    """With a projection, counterfactuals are one-hot in the group; ties (an all-zero group) are
    broken by the setting's seeded generator, not the global torch RNG nor 'first column wins'."""
    from cftrain.categorical import CategoricalProjection
    from cftrain.search import search_counterfactuals

    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.zeros(90, 3), torch.randn(90, 1, generator=g) * 2], dim=1)
    y = torch.randint(0, 3, (90,), generator=g)
    proj = CategoricalProjection([[0, 1, 2]])
    runs = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        cs, _ = protocol.test_time_counterfactuals(
            _LastColumn(), x, y, 3, generator=ECCo(lambda_cost=0.0, lambda_energy=1.0), settings=SETTINGS,
            setting_index=2, train_seed=5,
            mutability=None, lower=None, upper=None, tau=0.9, categorical=proj,
        )  # fmt: skip
        runs.append(cs)
    a, b = runs
    np.testing.assert_array_equal(a.counterfactual, b.counterfactual)
    group = a.counterfactual[:, :3]
    assert set(np.unique(group)) == {0.0, 1.0} and (group.sum(axis=1) == 1).all()
    assert len(set(group.argmax(axis=1))) == 3  # ties drawn, not always the first column
    seed = protocol.setting_seed(SETTINGS["seed"], 5, 2)
    res = search_counterfactuals(
        _LastColumn(), torch.as_tensor(a.factual), torch.as_tensor(a.target), ECCo(lambda_cost=0.0, lambda_energy=1.0),
        step_size=SETTINGS["step_size"], max_iter=SETTINGS["max_iter"], tau=0.9, categorical=proj,
        rng=torch.Generator().manual_seed(seed),
    )  # fmt: skip
    np.testing.assert_array_equal(a.counterfactual, res.counterfactual.numpy())


def test_test_time_generator_passes_the_vae_and_the_energy_weight():
    """A VAE-based test-time generator (REVISE) gets the dataset's VAE; only a generator with an
    energy term takes the setting's λ_egy."""
    from cftrain.generators import REVISE, Generic
    from cftrain.vae import VAE

    vae = VAE(2, 2, 8)
    revise = protocol.test_time_generator({"name": "revise", "lambda_cost": 0.3}, 7.0, vae=vae)
    assert isinstance(revise, REVISE) and revise.vae is vae and revise.lambda_cost == 0.3
    generic = protocol.test_time_generator({"name": "generic"}, 7.0)
    assert generic == Generic()
    ecco = protocol.test_time_generator({"name": "ecco", "lambda_cost": 0.0}, 7.0)
    assert ecco == ECCo(lambda_cost=0.0, lambda_energy=7.0)
