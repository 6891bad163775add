"""Config resolution (cftrain.config) and target lists (cftrain.workflow)."""

import pytest
from helpers import REPO

from cftrain.config import evaluation_settings, load_config, parse_objective, run_spec, targets
from cftrain.workflow import (
    FIGURES,
    all_targets,
    figure_inputs,
    figure_wanted,
    per_model,
    table_wanted,
)


@pytest.fixture(scope="module")
def config():
    return load_config(REPO / "config" / "config.yaml")


def test_paper_defaults(config):
    spec = run_spec(config, "main", "moons", "full", 2025)
    t = spec.train
    assert (t.epochs, t.lr, t.batch_size, t.n_ce, t.tau, t.lambda_reg) == (
        100,
        0.001,
        30,
        1000,
        0.9,
        0.25,
    )
    assert (t.lambda_div, t.lambda_adv, t.step_size, t.max_iter, t.epsilon) == (
        0.5,
        0.25,
        0.1,
        30,
        0.3,
    )
    assert t.generator == "ecco" and t.generator_params == {
        "lambda_cost": 0.001,
        "lambda_energy": 5.0,
    }
    adult = run_spec(config, "main", "adult", "full", 2025).train
    assert (adult.batch_size, adult.n_ce, adult.tau) == (1000, 5000, 0.75)
    assert not spec.protect and run_spec(config, "mutability", "moons", "full", 1).protect


def test_overrides_layer_in_order(config):
    mut = run_spec(config, "mutability", "moons", "full", 1).train
    assert mut.lambda_adv == 0.0 and mut.lambda_reg == 0.0  # method.md §10.2
    assert run_spec(config, "mutability", "adult", "full", 1).train.lambda_adv == 0.25
    poc = run_spec(config, "poc", "lin_sep", "full", 1)
    assert (
        poc.model["name"] == "linear"
        and poc.train.generator == "generic"
        and poc.train.batch_size == 50
    )
    gen = run_spec(config, "generators", "moons", "full-revise", 1).train
    assert gen.generator == "revise" and gen.objective == "full"
    assert evaluation_settings(config, "mutability", "moons")["tau"] == 0.5
    assert evaluation_settings(config, "main", "moons")["tau"] == 0.95
    assert evaluation_settings(config, "main", "mnist")["n_individuals"] == 25


def test_parse_objective_rejects_unknown():
    assert parse_objective("full-generic") == ("full", "generic")
    with pytest.raises(ValueError, match="unknown objective"):
        parse_objective("fancy")
    with pytest.raises(ValueError, match="unknown generator"):
        parse_objective("full-dice")


def test_default_config_targets_every_artifact(config):
    assert (
        len(targets(config)) == 9 * 2 + 9 * 2 + 9 * 4 + 2 * 4 + 2 + 2 * 2 + 6 * 4
    )  # ablation: all nine datasets (§8); monotone_increase/_decrease: BL and CT on MNIST;
    # baselines: six datasets × BL, CT, PGD-AT, JEM
    # With the replication overlay (issue 16): 5 seeds × (main + mutability), every artifact;
    # the first replicate (2025, data seed 42) is the single-seed run, trained once.
    full = load_config(REPO / "config" / "config.yaml", REPO / "config" / "replication.yaml")
    assert len(targets(full, shared=True)) == len(targets(config)) + 5 * (9 * 2 + 9 * 2)
    assert len(targets(full)) == len(targets(config)) + 4 * (9 * 2 + 9 * 2)
    assert not figure_wanted(config, "replication") and not table_wanted(config, "replication")
    wanted = all_targets(full)
    for name in FIGURES:
        assert figure_wanted(full, name)
        assert f"results/figures/{name}.png" in wanted
        assert all(p.startswith("results/") for p in figure_inputs(full, name))
    for table in ("main", "validity", "ig", "costs", "replication", "baselines"):
        assert f"results/tables/{table}.csv" in wanted and f"results/tables/{table}.tex" in wanted
    assert len(per_model(full, "ig_rounds")) == 18  # mutability only (replicates: no IG)
    assert len(per_model(full, "generative")) == 6 * 4  # baselines only


def test_one_step_size_default_for_training_and_test_time(config):
    """method.md §10.15: every CE search of the original ran with Flux's Descent() default η = 0.1.

    The default lives once (cftrain.search.STEP_SIZE); the shipped config leaves it unset, and the
    training run, the test-time protocol, TrainConfig and search_counterfactuals all read it.
    """
    import copy
    import inspect

    from cftrain.search import STEP_SIZE, search_counterfactuals
    from cftrain.training import TrainConfig

    assert STEP_SIZE == 0.1
    assert "step_size" not in config["training"] and "step_size" not in config["evaluation"]
    train_step = run_spec(config, "main", "adult", "full", 2025).train.step_size
    test_step = evaluation_settings(config, "main", "adult")["step_size"]
    default = inspect.signature(search_counterfactuals).parameters["step_size"].default
    assert train_step == test_step == TrainConfig().step_size == default == STEP_SIZE
    # A config value overrides both places independently (the "configured but unused" 0.25).
    variant = copy.deepcopy(config)
    variant["training"]["step_size"] = 0.25
    variant["evaluation"]["step_size"] = 0.3
    assert run_spec(variant, "main", "adult", "full", 2025).train.step_size == 0.25
    assert evaluation_settings(variant, "main", "adult")["step_size"] == 0.3


def test_categorical_defaults_and_paper_text_overlay(config):
    """method.md §10.17: training off, test time project by default (one default each, in
    cftrain.categorical); config/paper-text.yaml validates and flips every configurable decision
    of docs/method-decisions.md to the paper text."""
    from cftrain.categorical import EVALUATION_DEFAULT, TRAINING_DEFAULT
    from cftrain.training import TrainConfig
    from cftrain.validation import check_config

    assert "categorical" not in config["training"] and "categorical" not in config["evaluation"]
    assert run_spec(config, "main", "adult", "full", 2025).train.categorical == TRAINING_DEFAULT
    assert TrainConfig().categorical == TRAINING_DEFAULT == "off"
    assert evaluation_settings(config, "main", "adult")["categorical"] == EVALUATION_DEFAULT
    assert EVALUATION_DEFAULT == "project"

    paper = load_config(REPO / "config" / "config.yaml", REPO / "config" / "paper-text.yaml")
    check_config(paper)  # a missing data folder is no error: raw files are fetched
    t = run_spec(paper, "mutability", "lin_sep", "full", 2025).train
    ev = evaluation_settings(paper, "mutability", "adult")
    assert (t.step_size, t.categorical, t.lambda_adv, t.lambda_reg) == (
        0.25,
        "project_exact",
        0.25,
        0.01,
    )
    assert (ev["step_size"], ev["generator"]["lambda_cost"], ev["mmd_length_scale"], ev["categorical"], ev["tau"]) == (
        0.25, 0.001, 0.5, "project_exact", 0.95,
    )  # fmt: skip
    assert paper["data"]["domain_n_std"] == 3
    # YAML reads an unquoted `off` as false: both mean off
    off = load_config(REPO / "config" / "config.yaml")
    off["evaluation"]["categorical"] = False
    check_config(off)
    assert evaluation_settings(off, "main", "adult")["categorical"] == "off"
