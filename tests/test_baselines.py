"""Objectives beyond the paper (issue 15): PGD adversarial training and JEM (cftrain.baselines)."""

import math

import pytest
import torch
import torch.nn.functional as F

from cftrain.baselines import build_batch_objective, resolve_objective_params
from cftrain.baselines.jem import JEM, free_energy
from cftrain.baselines.pgd_at import PGDAT
from cftrain.datasets import prepare_dataset
from cftrain.models import build_model
from cftrain.sgld import sgld
from cftrain.training import TrainConfig, TrainingError, load_checkpoint, train


def _moons(n=None):
    ds = prepare_dataset("moons", seed=42)
    x, y = torch.as_tensor(ds.X_train), torch.as_tensor(ds.y_train)
    lower, upper = torch.as_tensor(ds.lower), torch.as_tensor(ds.upper)
    return (x[:n], y[:n], lower, upper) if n else (x, y, lower, upper)


def _trained(epochs=5, seed=3):
    x, y, *_ = _moons()
    cfg = TrainConfig(objective="vanilla", epochs=epochs, batch_size=30, seed=seed)
    return train(build_model("mlp", 2, 2, seed=seed), x, y, cfg)[0]


def _equal(a, b):
    return all(
        torch.equal(pa, pb)
        for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


@pytest.mark.parametrize("mode", ["replace", "augment"])
def test_pgd_at_examples_in_ball_and_raise_loss(mode):
    model = _trained()
    x, y, lower, upper = _moons(120)
    at = PGDAT(epsilon=0.1, steps=10, step_size=0.025, mode=mode)
    at.setup(x_train=x, lower=lower, upper=upper, total_steps=1, seed=0)
    x_adv = at.examples(model, x, y)
    assert (x_adv - x).abs().max() <= 0.1 + 1e-6
    assert not torch.equal(x_adv, x)
    with torch.no_grad():
        clean, adv = F.cross_entropy(model(x), y), F.cross_entropy(model(x_adv), y)
    assert adv > clean
    loss, terms = at.loss(model, x, y)
    assert torch.isfinite(loss) and terms["adv"] > clean
    if mode == "augment":
        assert terms["clf"] == pytest.approx(float(clean), rel=1e-5)
        assert float(loss.detach()) == pytest.approx((terms["clf"] + terms["adv"]) / 2, rel=1e-4)


def test_pgd_at_without_random_start_draws_nothing():
    model = _trained(epochs=1)
    x, y, lower, upper = _moons(30)
    at = PGDAT(random_start=False, steps=1, step_size=0.1, epsilon=0.05)
    at.setup(x_train=x, lower=lower, upper=upper, total_steps=1, seed=0)
    before = at.generator.get_state()
    x_adv = at.examples(model, x, y)
    assert torch.equal(at.generator.get_state(), before)
    assert torch.allclose(
        (x_adv - x).abs(), torch.full_like(x, 0.05)
    )  # one signed step to the face


def test_pgd_at_with_zero_epsilon_is_vanilla_bitwise():
    x, y, lower, upper = _moons()
    kw = dict(epochs=2, batch_size=30, seed=5)
    a, log_a = train(build_model("mlp", 2, 2, seed=5), x, y, TrainConfig(objective="vanilla", **kw))
    cfg = TrainConfig(
        objective="pgd_at",
        objective_params=resolve_objective_params("pgd_at", {"epsilon": 0}),
        **kw,
    )
    b, log_b = train(build_model("mlp", 2, 2, seed=5), x, y, cfg, lower=lower, upper=upper)
    assert _equal(a, b)
    assert log_a["train_accuracy"].tolist() == log_b["train_accuracy"].tolist()
    assert (
        log_b["loss_adv"].tolist() == log_a["loss_clf"].tolist()
    )  # replace: the CE on the examples
    # ... and a positive ε really trains on other inputs.
    cfg = TrainConfig(
        objective="pgd_at", objective_params=resolve_objective_params("pgd_at", {}), **kw
    )
    assert not _equal(a, train(build_model("mlp", 2, 2, seed=5), x, y, cfg)[0])


def test_sgld_lowers_the_energy_of_its_samples():
    model = _trained()
    model.zero_grad(set_to_none=True)
    x, _, lower, upper = _moons()
    start = lower + torch.rand((200, 2), generator=torch.Generator().manual_seed(1)) * (
        upper - lower
    )
    energy = lambda z: free_energy(model(z))  # noqa: E731
    out = sgld(
        energy,
        start,
        steps=20,
        step_size=1.0,
        noise=0.01,
        generator=torch.Generator().manual_seed(2),
    )
    with torch.no_grad():
        assert energy(out).mean() < energy(start).mean()
    assert all(p.grad is None for p in model.parameters())  # input gradients only


def test_replay_buffer_keeps_size_and_reinitialises_its_share():
    x, _, lower, upper = _moons()
    jem = JEM(buffer_size=500, reinit_share=0.2)
    jem.setup(x_train=x, lower=lower, upper=upper, total_steps=10, seed=0)
    assert jem.buffer.shape == (500, 2)
    assert ((jem.buffer >= lower) & (jem.buffer <= upper)).all()
    jem.buffer = torch.full((500, 2), 100.0)  # outside the box: a fresh start is told apart
    rows, start = jem.starts(50)
    fresh = (start != 100.0).all(dim=1)
    assert int(fresh.sum()) == 10 and len(set(rows.tolist())) == 50
    assert ((start[fresh] >= lower) & (start[fresh] <= upper)).all()
    jem.sample(_trained(epochs=1), 50, "cpu")
    assert jem.buffer.shape == (500, 2)
    assert int((jem.buffer != 100.0).all(dim=1).sum()) == 50  # the batch's rows were written back
    with pytest.raises(ValueError, match="smaller than a batch"):
        jem.starts(501)


def test_tiny_jem_run_on_moons_has_finite_losses(tmp_path):
    x, y, lower, upper = _moons(600)
    params = resolve_objective_params("jem", {"buffer_size": 200, "sgld_steps": 5})
    cfg = TrainConfig(objective="jem", epochs=2, batch_size=30, seed=4, objective_params=params)
    model, log = train(build_model("mlp", 2, 2, seed=4), x, y, cfg, lower=lower, upper=upper)
    for column in ("loss_clf", "loss_gen"):
        assert log[column].map(math.isfinite).all(), column
    assert (log["skipped_steps"] == 0).all() and log["mean_steps"].isna().all()  # no CE sweep
    # A killed run resumes to the same weights (buffer and random stream in the checkpoint).
    ckpt = tmp_path / "ckpt.pt"
    short = TrainConfig(objective="jem", epochs=1, batch_size=30, seed=4, objective_params=params)
    train(build_model("mlp", 2, 2, seed=4), x, y, short, lower=lower, upper=upper, checkpoint=ckpt)
    assert "objective" in load_checkpoint(ckpt)
    resumed = train(
        build_model("mlp", 2, 2, seed=4), x, y, cfg, lower=lower, upper=upper, checkpoint=ckpt
    )[0]
    assert _equal(model, resumed)


def test_jem_fails_clearly_on_non_finite_energies():
    x, y, lower, upper = _moons(300)
    model = build_model("mlp", 2, 2, seed=1)
    with torch.no_grad():
        model.net[-1].bias.fill_(float("inf"))  # every energy is −∞
    params = resolve_objective_params("jem", {"buffer_size": 100, "max_nonfinite_share": 0.1})
    cfg = TrainConfig(
        objective="jem",
        epochs=3,
        batch_size=30,
        seed=1,
        objective_params=params,
        max_skipped_share=1.0,
    )
    with pytest.raises(TrainingError, match=r"jem: 4 of 30 planned steps met a non-finite energy"):
        train(model, x, y, cfg, lower=lower, upper=upper)


def test_objective_params_resolve_with_defaults_and_reject_unknown():
    assert resolve_objective_params("vanilla", None) == {}
    assert resolve_objective_params("jem", {"sgld_step": 2})["sgld_step"] == 2.0
    assert resolve_objective_params("pgd_at", {})["epsilon"] == PGDAT().epsilon
    with pytest.raises(ValueError, match="no parameter"):
        resolve_objective_params("jem", {"bogus": 1})
    with pytest.raises(ValueError, match="takes no parameters"):
        resolve_objective_params("full", {"epsilon": 1})
    with pytest.raises(ValueError, match="mode"):
        build_batch_objective("pgd_at", {"mode": "mix"})
