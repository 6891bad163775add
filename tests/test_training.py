"""CT objective and training loop (method.md §1–2)."""

import torch

from cftrain.constraints import BOTH, NONE, protect_immutable_neighbours
from cftrain.datasets import prepare_dataset
from cftrain.generators import ECCo
from cftrain.models import build_model
from cftrain.objective import energy_gap
from cftrain.search import search_counterfactuals
from cftrain.training import TrainConfig, load_checkpoint, split_sizes, train


def test_energy_gap_gradient_of_linear_model():
    d, k = 4, 3
    model = build_model("linear", d, k, seed=1)
    gen = torch.Generator().manual_seed(0)
    x_pos, x_ce = torch.randn(1, d, generator=gen), torch.randn(1, d, generator=gen)
    target = torch.tensor([2])
    codes = torch.tensor([NONE, BOTH, BOTH, BOTH], dtype=torch.int8)
    for protect in (False, True):
        pos = protect_immutable_neighbours(x_pos, x_ce, codes) if protect else x_pos
        model.zero_grad()
        gap = energy_gap(model(pos), model(x_ce), target)
        gap.backward()
        grad = model.net.weight.grad[2]
        # ∂[E(x⁺)−E(x′)]/∂θ_{y⁺} = x′ − x⁺, so a descent step moves θ by +(x⁺ − x′).
        assert torch.allclose(-grad, (pos - x_ce)[0], atol=1e-6)
        assert torch.count_nonzero(model.net.weight.grad[:2]) == 0
        if protect:
            assert grad[0] == 0


def _moons():
    ds = prepare_dataset("moons", seed=42)
    t = lambda a: torch.as_tensor(a)  # noqa: E731
    return ds, t(ds.X_train), t(ds.y_train)


def test_zero_ct_weights_equal_vanilla_bitwise():
    ds, x, y = _moons()
    kw = dict(epochs=3, batch_size=30, n_ce=200, tau=0.9, seed=7)
    a = train(build_model("mlp", 2, 2, seed=7), x, y, TrainConfig(objective="vanilla", **kw))[0]
    cfg = TrainConfig(objective="full", lambda_div=0.0, lambda_reg=0.0, lambda_adv=0.0, **kw)
    b, log = train(build_model("mlp", 2, 2, seed=7), x, y, cfg)
    assert log["mean_steps"].notna().all()  # CEs really were generated
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)


def test_split_sizes_near_equal():
    assert split_sizes(1000, 100) == [10] * 100
    sizes = split_sizes(1003, 10)
    assert sum(sizes) == 1003 and max(sizes) - min(sizes) <= 1


def test_resume_from_checkpoint_matches_uninterrupted(tmp_path):
    ds, x, y = _moons()
    kw = dict(objective="full", epochs=4, batch_size=60, n_ce=100, tau=0.9, seed=3, lambda_reg=0.25)
    full = train(build_model("mlp", 2, 2, seed=3), x, y, TrainConfig(**kw))[0]
    ckpt = tmp_path / "ckpt.pt"
    train(
        build_model("mlp", 2, 2, seed=3), x, y, TrainConfig(**{**kw, "epochs": 2}), checkpoint=ckpt
    )
    assert load_checkpoint(ckpt)["epoch"] == 2
    resumed, log = train(build_model("mlp", 2, 2, seed=3), x, y, TrainConfig(**kw), checkpoint=ckpt)
    assert list(log["epoch"]) == [1, 2, 3, 4]
    for pa, pb in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)


def test_ct_on_moons_paper_settings_is_accurate_and_more_plausible():
    """Paper settings (100 epochs, batch 30, n_CE 1000, τ 0.9, λ_reg 0.25) on moons."""
    torch.set_num_threads(1)
    ds, x, y = _moons()
    xt, yt = torch.as_tensor(ds.X_test), torch.as_tensor(ds.y_test)
    lower, upper = torch.as_tensor(ds.lower), torch.as_tensor(ds.upper)
    models = {}
    for objective in ("vanilla", "full"):
        cfg = TrainConfig(
            objective=objective, tau=0.9, lambda_reg=0.25, batch_size=30, n_ce=1000, seed=2025
        )
        models[objective] = train(
            build_model("mlp", 2, 2, seed=2025), x, y, cfg, lower=lower, upper=upper
        )[0]
    with torch.no_grad():
        acc = (models["full"](xt).argmax(1) == yt).float().mean()
    assert acc >= 0.99
    # Same factual/target pairs for both models: factuals of class 0 predicted as 0 by both, target 1.
    with torch.no_grad():
        both = (models["vanilla"](xt).argmax(1) == yt) & (models["full"](xt).argmax(1) == yt)
    factual = xt[both][:300]
    target = 1 - yt[both][:300]
    ip = {}
    for objective, model in models.items():
        res = search_counterfactuals(model, factual, target, ECCo(lambda_cost=0.0, lambda_energy=1.0),
                                     max_iter=50, tau=0.95, lower=lower, upper=upper)  # fmt: skip
        with torch.no_grad():
            valid = model(res.counterfactual).argmax(1) == target
        ref = [xt[yt == c] for c in (0, 1)]
        dist = torch.stack(
            [
                torch.cdist(res.counterfactual[i : i + 1], ref[int(target[i])], p=1).mean()
                for i in range(len(target))
            ]
        )
        ip[objective] = float(dist[valid].mean())
    assert ip["full"] < ip["vanilla"], ip
