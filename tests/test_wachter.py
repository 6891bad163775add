"""Wachter generator (Wachter et al. 2017): hand values, defaults, and use from config alone."""

from __future__ import annotations

import pytest
import torch
from helpers import REPO

from cftrain.config import deep_merge, evaluation_settings, load_config, run_spec
from cftrain.generators import GENERATORS, build_generator
from cftrain.generators.wachter import Wachter
from cftrain.search import search_counterfactuals
from cftrain.validation import ConfigError, check_config

DEFAULT = load_config(REPO / "config" / "config.yaml")


def test_penalty_is_lambda_times_euclidean_distance():
    factual = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    x_cf = torch.tensor([[3.0, 4.0], [1.0, 1.0]])
    pen = Wachter(lambda_cost=0.5).penalty(x_cf, factual, None, None, 0, 30)
    assert pen.tolist() == pytest.approx([2.5, 0.0])  # 0.5·‖(3, 4)‖₂ = 0.5·5, not squared
    x = x_cf.clone().requires_grad_(True)
    Wachter(lambda_cost=0.5).penalty(x, factual, None, None, 0, 30).sum().backward()
    # ∂‖x′ − x‖₂ = (x′ − x)/‖x′ − x‖₂; at x′ = x the gradient is 0 (no NaN on the first step)
    torch.testing.assert_close(x.grad, torch.tensor([[0.3, 0.4], [0.0, 0.0]]))


def test_defaults_and_registration():
    assert GENERATORS["wachter"] is Wachter and not Wachter.needs_vae and not Wachter.latent
    gen = build_generator("wachter")
    assert gen.params() == {"lambda_cost": 0.1}  # CE.jl WachterGenerator(; λ = 0.1)


def test_one_step_hand_value():
    """One step on a linear 2-class model from x = (1, 0), target 1, η = 0.5: the ℓ2 term has zero
    gradient at the factual, so Δ = −η·∇CE = −η·(p₁ − 1)(w₁ − w₀)."""
    model = torch.nn.Linear(2, 2, bias=False)
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    with torch.no_grad():
        model.weight.copy_(w)
    x = torch.tensor([[1.0, 0.0]])
    p1 = torch.softmax(w @ x[0], 0)[1]
    expected = x[0] - 0.5 * (p1 - 1) * (w[1] - w[0])
    res = search_counterfactuals(model, x, torch.tensor([1]), Wachter(), step_size=0.5, max_iter=1, tau=None)  # fmt: skip
    torch.testing.assert_close(res.counterfactual[0], expected)


def test_usable_for_training_and_at_test_time_from_config():
    suffix = run_spec(deep_merge(DEFAULT, {"experiments": {"generators": {"objectives": ["full-wachter"]}}}),
                      "generators", "moons", "full-wachter", 1).train  # fmt: skip
    assert (suffix.generator, suffix.generator_params) == ("wachter", {"lambda_cost": 0.1})
    config = deep_merge(DEFAULT, {"training": {"generator": {"name": "wachter", "lambda_cost": 0.2}},
                                  "evaluation": {"generator": {"name": "wachter"}, "lambda_energy": [1.0]}})  # fmt: skip
    check_config(config)
    train = run_spec(config, "main", "moons", "full", 1).train
    assert (train.generator, train.generator_params) == ("wachter", {"lambda_cost": 0.2})
    assert evaluation_settings(config, "main", "moons")["generator"] == {
        "name": "wachter",
        "lambda_cost": 0.1,
    }
    with pytest.raises(ConfigError, match="unknown key 'training.generator.lambda_energy'"):
        check_config(deep_merge(config, {"training": {"generator": {"lambda_energy": 1.0}}}))


def test_workflow_plans_wachter_from_a_config_overlay(tmp_path):
    """`full-wachter` (training) and `evaluation.generator: {name: wachter}` need no file but the
    config: the dry run schedules the model, its search and its evaluation."""
    import yaml
    from helpers import copy_repo, run_snakemake

    work = copy_repo(tmp_path / "repo")
    overlay = {"experiments": {"generators": {"datasets": ["moons"], "objectives": ["vanilla", "full-wachter"]}},
               "evaluation": {"generator": {"name": "wachter"}, "lambda_energy": [1.0]}}  # fmt: skip
    (work / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    target = "results/evaluation/generators/moons/full-wachter/seed2025/counterfactual_metrics.csv"
    proc = run_snakemake(work, "-n", target, "--configfile", "config/quick.yaml", "overlay.yaml", timeout=300)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "generators/moons/full-wachter/seed2025/egy1.h5" in out and "rule train:" in out
