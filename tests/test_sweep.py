"""The CT sweep of method.md §2 steps 2–7 (`counterfactual_sweep`), fact by fact."""

import pytest
import torch
from torch import nn

from cftrain.categorical import CategoricalProjection
from cftrain.constraints import BOTH, DECREASE, INCREASE, NONE
from cftrain.generators import REVISE, ECCo
from cftrain.search import search_counterfactuals
from cftrain.training import TrainConfig, counterfactual_sweep, draw_neighbours
from cftrain.vae import train_vae

K, D, N = 3, 4, 90


class Lin(nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(11)
        self.weight = torch.randn(K, D, generator=g)

    def forward(self, x):
        return x @ self.weight.T


def _data():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(N, D, generator=g)
    y = torch.randint(0, K, (N,), generator=g)  # true labels independent of the model
    return x, y


CODES = torch.tensor([NONE, INCREASE, DECREASE, BOTH], dtype=torch.int8)


def _cfg(**kw):
    base = dict(
        n_ce=40, batch_size=10, max_iter=4, tau=0.6, step_size=0.5, seed=0,
        generator="ecco", generator_params={"lambda_cost": 0.001, "lambda_energy": 5.0},
    )  # fmt: skip
    return TrainConfig(**{**base, **kw})


def _sweep(epsilon, seed=1):
    x, y = _data()
    return counterfactual_sweep(
        Lin(), x, y, _cfg(epsilon=epsilon), K, torch.Generator().manual_seed(seed), mutability=CODES
    )


def _row_of(x, rows, col):
    """Index in `x` of each of `rows`, matched on column `col` (unique in random data)."""
    match = rows[:, col][:, None] == x[:, col][None, :]
    assert (match.sum(1) == 1).all()
    return match.float().argmax(1)


def test_sweep_facts():
    x, y = _data()
    model = Lin()
    # ε < 0: no iterate is inside the ball, so the AE is the factual itself and names it.
    items, stats = _sweep(epsilon=-1.0)
    factual = items["adversarial"]
    idx = _row_of(x, factual, 0)
    assert torch.equal(x[idx], factual)
    assert len(set(idx.tolist())) == 40  # n_CE factuals, drawn without replacement
    with torch.no_grad():
        predicted = model(factual).argmax(1)
    target = items["target"]
    assert (target != predicted).all()  # step 3: target excludes the *predicted* class
    assert set(target.tolist()) == set(range(K))
    assert torch.equal(items["label"], y[idx])  # the factual's true label
    assert (items["label"] != predicted).any()  # (so a predicted-label bug would show)

    # The neighbour: a training sample whose true label is the target (matched on the `both` column).
    j = _row_of(x, items["neighbour"], 3)
    raw = x[j]
    assert torch.equal(y[j], target)

    # Steps 4 and 6: the same search decides maturity; non-mature CEs are replaced by the raw neighbour.
    cfg = _cfg()
    res = search_counterfactuals(
        model, factual, target, ECCo(lambda_cost=0.001, lambda_energy=5.0),
        step_size=0.5, max_iter=cfg.max_iter, tau=cfg.tau, mutability=CODES,
    )  # fmt: skip
    conv = res.converged
    assert conv.any() and (~conv).any()
    cf = items["counterfactual"]
    assert torch.equal(cf[conv], res.counterfactual[conv])
    assert torch.equal(cf[~conv], raw[~conv])
    with torch.no_grad():
        p = torch.softmax(model(cf[conv]), 1).gather(1, target[conv, None])
    assert (p >= cfg.tau).all()
    assert stats["mature_share"] == pytest.approx(float(conv.float().mean()))
    assert stats["mean_steps"] == pytest.approx(float(res.steps.float().mean()))

    # Step 7: neighbour protected per feature against the (possibly replaced) counterfactual.
    nb = items["neighbour"]
    assert torch.equal(nb[:, 0], cf[:, 0])  # none
    assert torch.equal(nb[:, 1], torch.maximum(cf[:, 1], raw[:, 1]))  # increase
    assert torch.equal(nb[:, 2], torch.minimum(cf[:, 2], raw[:, 2]))  # decrease
    assert torch.equal(nb[:, 3], raw[:, 3])  # both
    moved = cf[conv] != raw[conv]
    assert moved[:, 0].any() and moved[:, 1].any() and moved[:, 2].any()


def test_sweep_adversarial_in_ball_and_same_draws():
    a, _ = _sweep(epsilon=-1.0)
    b, _ = _sweep(epsilon=0.3)
    assert torch.equal(a["target"], b["target"]) and torch.equal(a["label"], b["label"])
    dist = (b["adversarial"] - a["adversarial"]).abs().amax(1)
    assert (dist <= 0.3 + 1e-6).all() and (dist > 0).any()
    c, _ = _sweep(epsilon=0.3, seed=2)
    assert not torch.equal(c["target"], b["target"])


def test_n_ce_raised_to_number_of_batches():
    x, y = _data()
    items, _ = counterfactual_sweep(
        Lin(), x, y, _cfg(n_ce=2, batch_size=10), K, torch.Generator().manual_seed(0)
    )
    assert items["target"].shape == (9,)  # ceil(90 / 10) batches
    items, _ = counterfactual_sweep(
        Lin(), x, y, _cfg(n_ce=10_000, batch_size=10), K, torch.Generator().manual_seed(0)
    )
    assert items["target"].shape == (N,)


def test_draw_neighbours_labels_and_missing_class():
    y = torch.tensor([0, 2, 2, 0, 1, 2, 1])
    target = torch.tensor([2, 1, 0, 2, 2, 1, 0] * 20)
    idx = draw_neighbours(y, target, 3, torch.Generator().manual_seed(0))
    assert torch.equal(y[idx], target)
    assert set(idx[target == 2].tolist()) == {1, 2, 5}  # uniform over the class: all appear
    with pytest.raises(ValueError, match=r"target class\(es\) \[1\]"):
        draw_neighbours(torch.tensor([0, 2]), torch.tensor([1, 2]), 3, torch.Generator())


class _IdentityVAE(nn.Module):
    """Deterministic stand-in for a trained VAE: z = x, dec(z) = z."""

    latent_dim = D

    def encode_sample(self, x, generator):
        return x.clone()

    def decode(self, z):
        return z


def test_sweep_builds_the_configured_generator_with_its_vae_and_params():
    """generator 'revise' gets the sweep's VAE and the configured λ_cost (not the default 0.001)."""
    x, y = _data()
    model, vae = Lin(), _IdentityVAE()
    cfg = _cfg(generator="revise", generator_params={"lambda_cost": 0.3}, epsilon=-1.0)
    items, stats = counterfactual_sweep(
        model, x, y, cfg, K, torch.Generator().manual_seed(1), vae=vae
    )
    factual, target = items["adversarial"], items["target"]  # ε < 0: the AE is the factual
    kw = dict(step_size=0.5, max_iter=cfg.max_iter, tau=cfg.tau, epsilon=-1.0)
    res = search_counterfactuals(model, factual, target, REVISE(vae=vae, lambda_cost=0.3), **kw)
    default = search_counterfactuals(model, factual, target, REVISE(vae=vae), **kw)
    conv = res.converged
    assert conv.any() and (~conv).any()
    assert torch.equal(items["counterfactual"][conv], res.counterfactual[conv])
    assert stats["mean_steps"] == pytest.approx(float(res.steps.float().mean()))
    assert not torch.equal(default.counterfactual[conv], res.counterfactual[conv])


def _search_rng(seed, n_ce):
    """The sweep's generator as the search receives it: after the factual and target draws."""
    g = torch.Generator().manual_seed(seed)
    torch.randperm(N, generator=g)
    torch.randint(0, K - 1, (n_ce,), generator=g)
    return g


def _expected_items(items, res):
    """Step 6 applied to a search result: mature CEs kept, others replaced by the raw neighbour."""
    return torch.where(res.converged[:, None], res.counterfactual, items["neighbour"])


def test_sweep_passes_box_categorical_and_rng_to_the_search():
    """With mutability None the neighbour stays raw, so the sweep's counterfactuals are fixed by
    one search; the box (each side), the categorical projection and the seeded rng all matter."""
    x, y = _data()
    model = Lin()
    lower, upper = torch.full((D,), -0.4), torch.full((D,), 0.6)
    proj = CategoricalProjection([[0, 1], [2]])
    cfg = _cfg(epsilon=-1.0)
    items, _ = counterfactual_sweep(
        model, x, y, cfg, K, torch.Generator().manual_seed(1), lower=lower, upper=upper, categorical=proj
    )  # fmt: skip
    factual, target = items["adversarial"], items["target"]
    gen = ECCo(lambda_cost=0.001, lambda_energy=5.0)

    def search(**kw):
        base = dict(step_size=0.5, max_iter=cfg.max_iter, tau=cfg.tau, epsilon=-1.0, rng=_search_rng(1, 40))  # fmt: skip
        return search_counterfactuals(model, factual, target, gen, **{**base, **kw})

    full = search(lower=lower, upper=upper, categorical=proj)
    assert full.converged.any() and (~full.converged).any()
    assert torch.equal(items["counterfactual"], _expected_items(items, full))
    for variant in (
        dict(upper=upper, categorical=proj),
        dict(lower=lower, categorical=proj),
        dict(lower=lower, upper=upper),
    ):
        assert not torch.equal(items["counterfactual"], _expected_items(items, search(**variant)))

    # REVISE re-draws z = μ + σε every step from the sweep's generator (seeded, not global).
    vae, _ = train_vae(x, seed=3, epochs=2)
    cfg = _cfg(generator="revise", generator_params={"lambda_cost": 0.001}, epsilon=-1.0, tau=0.5)
    items, _ = counterfactual_sweep(model, x, y, cfg, K, torch.Generator().manual_seed(1), vae=vae)
    res = search_counterfactuals(
        model, items["adversarial"], items["target"], REVISE(vae=vae), step_size=0.5,
        max_iter=cfg.max_iter, tau=cfg.tau, epsilon=-1.0, rng=_search_rng(1, 40),
    )  # fmt: skip
    assert res.converged.any()
    assert torch.equal(items["counterfactual"], _expected_items(items, res))


def test_draw_neighbours_hand_indices():
    """Item i gets the ⌊uᵢ·cᵢ⌋-th training sample (in index order) of its target class, cᵢ its class
    count, uᵢ ~ U[0, 1) in float64 from the generator. 100 labels: enough for an unstable sort to
    reorder ties."""
    y = torch.randint(0, 3, (100,), generator=torch.Generator().manual_seed(0))
    target = torch.tensor([0, 1, 2, 2, 1, 0] * 5)
    u = torch.rand(30, generator=torch.Generator().manual_seed(8), dtype=torch.float64).tolist()
    members = {c: [i for i in range(100) if int(y[i]) == c] for c in range(3)}
    expected = [members[int(t)][int(ui * len(members[int(t)]))] for t, ui in zip(target, u, strict=True)]  # fmt: skip
    idx = draw_neighbours(y, target, 3, torch.Generator().manual_seed(8))
    assert idx.tolist() == expected
    # The highest class absent from the training labels is still named (not an index error).
    with pytest.raises(
        ValueError,
        match=r"^no training sample of target class\(es\) \[2\] to draw a neighbour from$",
    ):
        draw_neighbours(torch.tensor([0, 1]), torch.tensor([2]), 3, torch.Generator())
