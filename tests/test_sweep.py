"""The CT sweep of method.md §2 steps 2–7 (`counterfactual_sweep`), fact by fact."""

import pytest
import torch
from torch import nn

from cftrain.constraints import BOTH, DECREASE, INCREASE, NONE
from cftrain.generators import ECCo
from cftrain.search import search_counterfactuals
from cftrain.training import TrainConfig, counterfactual_sweep, draw_neighbours

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
