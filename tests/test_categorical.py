"""Categorical groups in the counterfactual search (method.md §10.17, §10.5; cftrain.categorical)."""

import pytest
import torch

from cftrain.categorical import (
    CategoricalProjection,
    build_projection,
    group_columns,
    normalise_mode,
)
from cftrain.constraints import BOTH, NONE
from cftrain.generators import ECCo, Generic
from cftrain.models import build_model
from cftrain.search import search_counterfactuals

# d = 8: x0 numeric, one-hot group A = 1..3, x4 numeric, binary column 5, one-hot group B = 6..7.
GROUPS = [[1, 2, 3], [5], [6, 7]]
D = 8


def _one_hot_data(n=120, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, D, generator=gen)
    x[:, 1:4] = torch.nn.functional.one_hot(torch.randint(0, 3, (n,), generator=gen), 3).float()
    x[:, 5] = torch.randint(0, 2, (n,), generator=gen).float()
    x[:, 6:8] = torch.nn.functional.one_hot(torch.randint(0, 2, (n,), generator=gen), 2).float()
    model = build_model("mlp", D, 3, hidden=16, seed=seed)
    with torch.no_grad():
        pred = model(x).argmax(1)
    target = (pred + 1 + torch.randint(0, 2, (n,), generator=gen)) % 3
    return model, x, target


def _assert_projected(x: torch.Tensor) -> None:
    for cols in GROUPS:
        block = x[:, cols]
        assert ((block == 0) | (block == 1)).all()
        if len(cols) > 1:
            assert (block.sum(1) == 1).all()


def _search(model, x, target, **kw):
    args = dict(step_size=2.0, max_iter=25, tau=0.9)  # a large step so that groups do change
    return search_counterfactuals(model, x, target, Generic(lambda_cost=0.01), **{**args, **kw})


def test_projection_hand_values():
    proj = CategoricalProjection(GROUPS)
    x = torch.tensor(
        [[0.3, 0.2, 0.9, -0.4, 7.0, 0.6, -1.0, -2.0], [0.3, 1.5, 0.1, 0.0, 7.0, -0.2, 3.0, 2.0]]
    )
    out = proj(x)
    expect = torch.tensor([[0.3, 0, 1, 0, 7.0, 1, 1, 0], [0.3, 1, 0, 0, 7.0, 0, 1, 0]])
    assert torch.equal(out, expect)
    assert x[0, 2] == 0.9  # input untouched
    assert torch.equal(proj(out), out)  # idempotent
    # binary: round(clamp(x, 0, 1)) with round half to even, as Julia
    b = CategoricalProjection([[0]])(torch.tensor([[0.5], [0.51], [-3.0], [4.0]]))
    assert b.squeeze(1).tolist() == [0.0, 1.0, 0.0, 1.0]


def test_ties_broken_deterministically_under_a_seed():
    proj = CategoricalProjection([[0, 1, 2, 3]])
    x = torch.tensor([[0.7, 0.7, 0.1, 0.7]]).repeat(400, 1)
    a = proj(x, torch.Generator().manual_seed(5))
    b = proj(x, torch.Generator().manual_seed(5))
    c = proj(x, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert (a.sum(1) == 1).all() and (a[:, 2] == 0).all()  # only tied columns can win
    share = a.mean(0)
    assert all(0.25 < float(share[i]) < 0.42 for i in (0, 1, 3))  # uniform among the ties
    # no generator: the first tied column, deterministically
    assert torch.equal(proj(x[:1]), torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
    # no tie, no draw: the generator's state is untouched
    gen = torch.Generator().manual_seed(1)
    state = gen.get_state()
    proj(torch.tensor([[0.1, 0.9, 0.2, 0.3]]), gen)
    assert torch.equal(gen.get_state(), state)


def test_group_stays_one_hot_after_every_step():
    model, x, target = _one_hot_data()
    proj = CategoricalProjection(GROUPS)
    for t in range(1, 8):  # the state after t steps, for every t
        res = _search(
            model,
            x,
            target,
            tau=None,
            max_iter=t,
            categorical=proj,
            rng=torch.Generator().manual_seed(0),
        )
        _assert_projected(res.counterfactual)
        _assert_projected(res.adversarial)
    res = _search(model, x, target, categorical=proj, rng=torch.Generator().manual_seed(0))
    _assert_projected(res.counterfactual)
    changed = (res.counterfactual[:, 1:4] != x[:, 1:4]).any(1)
    assert changed.any()  # the projection is exercised, not trivially satisfied
    # without projection the same search leaves the groups continuous
    off = _search(model, x, target)
    assert ((off.counterfactual[:, 1:4] != 0) & (off.counterfactual[:, 1:4] != 1)).any()


def test_immutable_categoricals_never_change():
    model, x, target = _one_hot_data(seed=1)
    codes = torch.full((D,), BOTH, dtype=torch.int8)
    codes[2] = NONE  # one column of group A: the whole group is held
    codes[5] = NONE  # the binary column
    res = _search(model, x, target, mutability=codes, categorical=CategoricalProjection(GROUPS),
                  rng=torch.Generator().manual_seed(0))  # fmt: skip
    assert torch.equal(res.counterfactual[:, [1, 2, 3, 5]], x[:, [1, 2, 3, 5]])
    assert (res.counterfactual[:, 6:8] != x[:, 6:8]).any()  # mutable groups still move
    _assert_projected(res.counterfactual)


def test_categorical_columns_are_not_clamped_continuous_ones_are():
    model, x, target = _one_hot_data(seed=2)
    lower, upper = torch.full((D,), -0.5), torch.full((D,), 0.5)  # excludes 1 for the one-hots
    x[:, [0, 4]] = x[:, [0, 4]].clamp(-0.5, 0.5)
    res = _search(
        model, x, target, lower=lower, upper=upper, categorical=CategoricalProjection(GROUPS)
    )
    _assert_projected(res.counterfactual)
    cont = res.counterfactual[:, [0, 4]]
    assert (cont >= -0.5).all() and (cont <= 0.5).all()


def test_off_is_bit_identical_to_the_plain_search():
    model, x, target = _one_hot_data(seed=3)
    codes = torch.full((D,), BOTH, dtype=torch.int8)
    codes[0] = NONE
    kw = dict(mutability=codes, lower=torch.full((D,), -2.0), upper=torch.full((D,), 2.0))
    plain = _search(model, x, target, **kw)
    off = _search(model, x, target, categorical=build_projection("off", [], {"a": [1, 2, 3]}), **kw)
    empty = _search(model, x, target, categorical=CategoricalProjection([]), **kw)
    for res in (off, empty):
        for field in ("counterfactual", "adversarial", "steps", "converged"):
            assert torch.equal(getattr(res, field), getattr(plain, field))


@pytest.mark.parametrize(
    "generator", [Generic(lambda_cost=0.01), ECCo(lambda_cost=0.0, lambda_energy=1.0)]
)
def test_batched_equals_one_at_a_time_with_projection(generator):
    model, x, target = _one_hot_data(n=48, seed=4)
    proj = CategoricalProjection(GROUPS)
    kw = dict(step_size=2.0, max_iter=25, tau=0.6, categorical=proj)
    batch = search_counterfactuals(
        model, x, target, generator, rng=torch.Generator().manual_seed(0), **kw
    )
    assert len(set(batch.steps.tolist())) >= 5  # mixed stopping times
    assert batch.converged.any() and (~batch.converged).any()
    assert (batch.counterfactual[:, 1:4] != x[:, 1:4]).any()  # some groups switch level
    for i in range(x.shape[0]):
        one = search_counterfactuals(model, x[i : i + 1], target[i : i + 1], generator,
                                     rng=torch.Generator().manual_seed(0), **kw)  # fmt: skip
        assert int(one.steps[0]) == int(batch.steps[i])
        assert bool(one.converged[0]) == bool(batch.converged[i])
        assert torch.equal(one.counterfactual[0, GROUPS[0] + GROUPS[1] + GROUPS[2]],
                           batch.counterfactual[i, GROUPS[0] + GROUPS[1] + GROUPS[2]])  # fmt: skip
        assert (one.counterfactual[0] - batch.counterfactual[i]).abs().max() <= 1e-5


def test_loss_and_convergence_see_the_projected_factual():
    # A factual off the one-hot grid converges on its projection (CE.jl checks decode_state).
    model = build_model("linear", 3, 2, seed=0)
    with torch.no_grad():
        model.net.weight.copy_(torch.tensor([[0.0, 0.0, 0.0], [0.0, 5.0, -5.0]]))
        model.net.bias.zero_()
    x = torch.tensor([[0.0, 0.6, 0.4]])  # projects to (0, 1, 0): p(class 1) = sigmoid(5)
    res = search_counterfactuals(model, x, torch.tensor([1]), Generic(), tau=0.99,
                                 categorical=CategoricalProjection([[1, 2]]))  # fmt: skip
    assert int(res.steps[0]) == 0 and bool(res.converged[0])
    assert torch.equal(res.counterfactual, torch.tensor([[0.0, 1.0, 0.0]]))
    assert torch.equal(res.factual, x)  # the stored factual stays the raw one


def test_group_columns_modes():
    names = ["age", "education=a", "education=b", "educational-num", "race=x", "race=y"]
    groups = {"education": [1, 2], "race": [4, 5]}
    assert group_columns(names, groups, "off") == []
    assert group_columns(names, groups, "project_exact") == [[1, 2], [4, 5]]
    # the original's TaijaData substring match: educational-num joins the education group (§10.5)
    assert group_columns(names, groups, "project") == [[1, 2, 3], [4, 5]]
    assert group_columns(names, {}, "project") == []
    assert normalise_mode(False) == "off"
    with pytest.raises(ValueError, match="categorical mode"):
        normalise_mode("on")


def test_real_adult_and_credit_groups(tmp_path):
    import os

    from cftrain.datasets import prepare_dataset

    if not os.environ.get("CFTRAIN_DATA_DIR"):
        pytest.skip("needs CFTRAIN_DATA_DIR")
    small = dict(seed=42, n_train=200, n_val=20, n_test=50)
    adult = prepare_dataset("adult", **small)
    exact = group_columns(adult.feature_names, adult.categorical_groups, "project_exact")
    taija = group_columns(adult.feature_names, adult.categorical_groups, "project")
    edu = adult.categorical_groups["education"]
    num = adult.feature_names.index("educational-num")
    assert [sorted(g) for g in taija] == [g + [num] if g == edu else g for g in exact]
    assert all(len(g) >= 2 for g in exact)  # no single binary columns: gender has two
    credit = prepare_dataset("credit", **small)
    assert group_columns(
        credit.feature_names, credit.categorical_groups, "project"
    ) == group_columns(credit.feature_names, credit.categorical_groups, "project_exact")
    # the test-time factuals are one-hot, so exact projection leaves them as they are
    proj = build_projection("project_exact", adult.feature_names, adult.categorical_groups)
    x = torch.as_tensor(adult.X_test)
    assert torch.equal(proj(x), x)


class _IdentityVAE(torch.nn.Module):
    """z = x, dec(z) = z (no draw): REVISE's latent search then walks the feature space itself."""

    latent_dim = D

    def encode_sample(self, x, generator):
        return x.clone()

    def decode(self, z):
        return z


def test_latent_search_projects_like_the_feature_space_search():
    """REVISE with an identity VAE and a projection takes the same path as Generic with it (same
    λ, box, seeded tie draws in the same order): projected after decoding, straight-through
    gradient, re-encoded from the projected point, projected at the end. Rows with an all-zero
    group A start tied."""
    from cftrain.generators import REVISE

    model, x, target = _one_hot_data(n=60, seed=3)
    x[:20, 1:4] = 0.0  # ties in group A on the first projection
    proj = CategoricalProjection(GROUPS)
    lower, upper = torch.full((D,), -2.5), torch.full((D,), 2.5)
    x = x.clamp(-2.5, 2.5)
    kw = dict(step_size=2.0, max_iter=25, tau=0.9, lower=lower, upper=upper, categorical=proj)
    latent = search_counterfactuals(
        model, x, target, REVISE(vae=_IdentityVAE(), lambda_cost=0.01),
        rng=torch.Generator().manual_seed(11), **kw,
    )  # fmt: skip
    plain = search_counterfactuals(
        model, x, target, Generic(lambda_cost=0.01), rng=torch.Generator().manual_seed(11), **kw
    )
    _assert_projected(latent.counterfactual)
    torch.testing.assert_close(latent.counterfactual, plain.counterfactual)
    assert torch.equal(latent.steps, plain.steps) and torch.equal(latent.converged, plain.converged)
    assert len(set(latent.counterfactual[:20, 1:4].argmax(1).tolist())) > 1  # ties were drawn
    assert (latent.counterfactual[:, [0, 4]].abs() <= 2.5).all()  # continuous columns in the box
    assert (latent.counterfactual != x).any(1).float().mean() > 0.5


class _Margin(torch.nn.Module):
    """Logits (0, 3 + x₀ − x₄): class 1 wins with p = σ(2) ≈ 0.88 at x₀ = −1, x₄ = 0 or x₀ = 0, x₄ = 1."""

    def forward(self, x):
        return torch.stack([torch.zeros_like(x[:, 0]), 3 + x[:, 0] - x[:, 4]], dim=1)


def test_latent_search_with_projection_judges_the_box_clamped_decoded_point():
    """Factuals outside the box [−1, 1] on column 0 (below) and column 4 (above): the loss and the
    convergence check see clamp(dec(z)), which already reaches τ = 0.8 at step 0 (unclamped, p = σ(−2))."""
    from cftrain.generators import REVISE

    x = torch.zeros(2, D)
    x[:, 1] = 1.0  # group A one-hot
    x[:, 6] = 1.0  # group B one-hot
    x[0, 0], x[1, 4] = -5.0, 5.0
    res = search_counterfactuals(
        _Margin(), x, torch.tensor([1, 1]), REVISE(vae=_IdentityVAE(), lambda_cost=0.0),
        step_size=0.1, max_iter=10, tau=0.8, lower=-torch.ones(D), upper=torch.ones(D),
        categorical=CategoricalProjection(GROUPS), rng=torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert res.steps.tolist() == [0, 0] and res.converged.all()
    assert res.counterfactual[0, 0] == -1.0 and res.counterfactual[1, 4] == 1.0


def test_latent_search_draws_ties_after_each_step_from_the_seeded_generator():
    """No gradient on group A (the _Margin model reads columns 0 and 4 only) and an all-zero group A:
    every projection of the latent search meets a tie, drawn from `rng` in the same order as the
    feature-space search; not all rows end in the first column."""
    from cftrain.generators import REVISE

    n = 40
    x = torch.zeros(n, D)
    x[:, 0] = torch.linspace(-0.99, -0.9, n)  # p(1) = σ(2.01..2.1) < τ: a few steps each
    x[:, 6] = 1.0
    kw = dict(step_size=0.1, max_iter=10, tau=0.9, lower=-torch.ones(D), upper=torch.ones(D),
              categorical=CategoricalProjection(GROUPS))  # fmt: skip
    target = torch.ones(n, dtype=torch.long)
    latent = search_counterfactuals(_Margin(), x, target, REVISE(vae=_IdentityVAE(), lambda_cost=0.0), rng=torch.Generator().manual_seed(4), **kw)  # fmt: skip
    plain = search_counterfactuals(_Margin(), x, target, Generic(lambda_cost=0.0), rng=torch.Generator().manual_seed(4), **kw)  # fmt: skip
    assert (latent.steps > 0).all()
    torch.testing.assert_close(latent.counterfactual, plain.counterfactual)
    _assert_projected(latent.counterfactual)
    assert len(set(latent.counterfactual[:, 1:4].argmax(1).tolist())) == 3


def test_latent_search_final_decoding_draws_ties_from_the_seeded_generator():
    """Rows converged at step 0 keep their encoded factual as state; the stored counterfactual is its
    decoding, projected with ties drawn from `rng` (as CE.jl's decode_state re-projects on every
    decoding): an all-zero group A ends one-hot, and not always in its first column."""
    from cftrain.generators import REVISE

    x = torch.zeros(40, D)
    x[:, 6] = 1.0  # p(1) = σ(3) ≈ 0.95 ≥ τ at the factual: converged at step 0
    res = search_counterfactuals(
        _Margin(), x, torch.ones(40, dtype=torch.long), REVISE(vae=_IdentityVAE(), lambda_cost=0.0),
        step_size=0.1, max_iter=5, tau=0.9, categorical=CategoricalProjection(GROUPS),
        rng=torch.Generator().manual_seed(2),
    )  # fmt: skip
    assert (res.steps == 0).all() and res.converged.all()
    _assert_projected(res.counterfactual)
    assert len(set(res.counterfactual[:, 1:4].argmax(1).tolist())) == 3


def test_immutable_continuous_feature_outside_the_box_stays_under_projection():
    """With a projection the clamp acts on the continuous columns, and the move is re-masked
    after it: an immutable continuous value outside the box never moves (method.md §2)."""
    model, x, target = _one_hot_data(seed=3)
    codes = torch.full((D,), BOTH, dtype=torch.int8)
    codes[0] = NONE
    lower, upper = torch.full((D,), -0.5), torch.full((D,), 0.5)
    assert ((x[:, 0] < -0.5) | (x[:, 0] > 0.5)).sum() > 10
    res = _search(model, x, target, mutability=codes, lower=lower, upper=upper,
                  categorical=CategoricalProjection(GROUPS), rng=torch.Generator().manual_seed(0))  # fmt: skip
    assert torch.equal(res.counterfactual[:, 0], x[:, 0])
    cont = res.counterfactual[:, 4]
    assert (cont >= -0.5).all() and (cont <= 0.5).all() and (res.steps > 0).any()
    _assert_projected(res.counterfactual)
