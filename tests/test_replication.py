"""Replication over seeds and monotone constraints (issue 16): seed pairing, the t-interval by
hand, replicate experiments and their data files, monotone codes in the search."""

from __future__ import annotations

import math
import types

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import REPO

from cftrain import paths
from cftrain.config import load_config, run_identity, run_spec_dict, targets
from cftrain.constraints import BOTH, DECREASE, INCREASE, NONE
from cftrain.evaluation.examples import make_examples
from cftrain.experiments import data_path, expand_experiments, shared_with
from cftrain.generators import ECCo
from cftrain.models import build_model
from cftrain.replication import replication_table, seed_reductions, summarise, t_interval
from cftrain.search import search_counterfactuals
from cftrain.steps.common import constraint_tensors
from cftrain.steps.figures import collect_csv
from cftrain.validation import ConfigError, check_config
from cftrain.workflow import collected_sources, data_file, per_model

T_4_975 = 2.7764451051977987  # Student t quantile, 4 degrees of freedom, 0.975 (statistical table)


def _rows(experiment, dataset, seed, objective, values, metric="ip"):
    return [
        {"experiment": experiment, "dataset": dataset, "objective": objective, "seed": seed,
         "run": run, "lambda_energy": 1.0, metric: v}
        for run, v in enumerate(values)
    ]  # fmt: skip


def test_seed_reductions_pair_bl_and_ct_of_the_same_seed():
    # Seed 1: BL 1, CT 0.5 → 50 %; seed 2: BL 10, CT 8 → 20 %. Pooling the seeds (CT 4.25 vs BL
    # 5.5 → 22.7 %) or crossing them (CT of seed 2 / BL of seed 1 = 8) gives other answers.
    rows = []
    rows += _rows("replication_main", "moons", 1, "vanilla", [1.0, 1.0])
    rows += _rows("replication_main", "moons", 1, "full", [0.5, 0.5])
    rows += _rows("replication_main", "moons", 2, "vanilla", [10.0, 10.0])
    rows += _rows("replication_main", "moons", 2, "full", [8.0, 8.0])
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=3)  # row order does not pair
    out = seed_reductions(frame, "ip").set_index("seed")
    assert out.loc[1, "reduction"] == pytest.approx(50.0)
    assert out.loc[2, "reduction"] == pytest.approx(20.0)
    assert (out["n_runs"] == 2).all()
    summary = summarise(seed_reductions(frame, "ip"))
    assert summary.loc[0, "mean"] == pytest.approx(35.0)
    assert summary.loc[0, "n_seeds"] == 2


def test_t_interval_by_hand():
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    mean, sd, lower, upper = t_interval(values)
    sd_hand = math.sqrt(sum((v - 30.0) ** 2 for v in values) / 4)  # = √250
    half = T_4_975 * sd_hand / math.sqrt(5)
    assert mean == pytest.approx(30.0)
    assert sd == pytest.approx(sd_hand)
    assert (lower, upper) == pytest.approx((30.0 - half, 30.0 + half))
    assert half == pytest.approx(19.6324, abs=1e-4)
    mean1, sd1, lo1, hi1 = t_interval([7.0])
    assert mean1 == 7.0 and all(math.isnan(v) for v in (sd1, lo1, hi1))


def test_replication_table_from_replicates_and_single_seed():
    rows = []
    for seed, (bl, ct) in zip(
        range(5), [(1, 0.9), (1, 0.8), (1, 0.7), (1, 0.6), (1, 0.5)], strict=True
    ):
        rows += _rows("replication_main", "moons", seed, "vanilla", [bl, bl])
        rows += _rows("replication_main", "moons", seed, "full", [ct, ct])
        rows += _rows("replication_mutability", "moons", seed, "vanilla", [2.0], "cost")
        rows += _rows("replication_mutability", "moons", seed, "full", [1.0], "cost")
    rows += _rows("main", "moons", 0, "vanilla", [1.0, 1.0])
    rows += _rows("main", "moons", 0, "full", [0.75, 0.75])
    rows += _rows("mutability", "moons", 0, "vanilla", [4.0], "cost")  # same setting, other name
    rows += _rows("mutability", "moons", 0, "full", [3.0], "cost")
    tidy, display = replication_table(pd.DataFrame(rows), ["moons"])
    ip = tidy[tidy["metric"] == "ip"].iloc[0]
    assert ip["n_seeds"] == 5 and ip["mean"] == pytest.approx(30.0)  # 10, 20, ..., 50
    assert (ip["lower"], ip["upper"]) == pytest.approx((30.0 - 19.63243, 30.0 + 19.63243), abs=1e-4)
    assert ip["single_seed"] == pytest.approx(25.0)
    cost = tidy[tidy["metric"] == "cost"].iloc[0]
    assert cost["mean"] == pytest.approx(50.0) and cost["sd"] == pytest.approx(0.0)
    assert cost["single_seed"] == pytest.approx(25.0)
    assert list(display.columns) == ["dataset", "IP", "Cost (protected)"]
    assert display.loc[0, "IP"] == "30.00 [10.37, 49.63] (25.00)"


def _config():
    config = load_config(REPO / "config" / "config.yaml")
    config["experiments"]["replication"] = {
        "repeats": ["main", "mutability"], "seeds": [2025, 7], "data_seeds": [42, 9],
        "datasets": ["moons", "gmsc"],
    }  # fmt: skip
    return config


def test_replicates_expand_and_read_their_data_seed():
    config = _config()
    exps = expand_experiments(config["experiments"])
    assert "replication" not in exps
    rep = exps["replication_mutability"]
    assert rep["datasets"] == ["moons", "gmsc"] and rep["protect"] is True
    assert rep["evaluation"] == config["experiments"]["mutability"]["evaluation"]
    # Seed 2025 on data seed 42 is main's and mutability's own run: trained once, under them.
    runs = [t for t in targets(config, shared=True) if t[0].startswith("replication_")]
    assert len(runs) == 2 * 2 * 2 * 2 and {t[3] for t in runs} == {2025, 7}
    trained = [t for t in targets(config) if t[0].startswith("replication_")]
    assert sorted(trained) == sorted(t for t in runs if t[3] == 7)
    assert data_file(config, "replication_main", "moons", 2025) == paths.DATA.format(
        dataset="moons"
    )
    assert data_file(config, "replication_main", "moons", 7) == "results/data/dataseed9/moons.h5"
    assert data_file(config, "replication_main", "gmsc", 7) == paths.DATA.format(dataset="gmsc")
    assert data_file(config, "main", "moons", 2025) == paths.DATA.format(dataset="moons")
    with pytest.raises(ValueError):
        data_path(config, rep, "moons", 8)  # not a seed of the replicate
    # Replicates are collected apart; the other tables hold exactly the other experiments' runs.
    # A shared run is read from its owner's file and tagged with the replicate's name.
    sources = collected_sources(config, "replication_metrics")
    assert len(sources) == len(runs) == len(per_model(config, "replication_metrics"))
    for (e, d, o, s), (path, tag) in zip(runs, sources, strict=True):
        owner = e.removeprefix("replication_")
        if s == 2025:
            assert tag == e and path == paths.run_file(paths.COUNTERFACTUAL_METRICS, owner, d, o, s)
        else:
            assert tag is None and path == paths.run_file(paths.COUNTERFACTUAL_METRICS, e, d, o, s)
    assert not any("/replication_" in p for p in per_model(config, "counterfactual_metrics"))


def test_shared_with_needs_the_repeated_experiments_seed_and_data():
    config = _config()
    exps = expand_experiments(config["experiments"])
    rep = exps["replication_main"]
    assert shared_with(config, rep, "moons", 2025) == "main"
    assert shared_with(config, rep, "gmsc", 2025) == "main"  # real data: one split
    assert shared_with(config, rep, "moons", 7) is None  # a seed main does not train at
    assert shared_with(config, exps["main"], "moons", 2025) is None  # not a replicate
    config["experiments"]["replication"]["data_seeds"] = [43, 9]  # 2025 on other moons data
    rep = expand_experiments(config["experiments"])["replication_main"]
    assert shared_with(config, rep, "moons", 2025) is None
    assert shared_with(config, rep, "gmsc", 2025) == "main"


def test_collect_tags_shared_runs_with_the_replicates_name(tmp_path):
    own, shared = tmp_path / "own.csv", tmp_path / "shared.csv"
    pd.DataFrame({"experiment": ["replication_main"], "seed": [7], "ip": [0.25]}).to_csv(
        own, index=False
    )
    pd.DataFrame({"experiment": ["main"], "seed": [2025], "ip": [0.1 + 0.2]}).to_csv(
        shared, index=False
    )
    out = tmp_path / "out.csv"
    collect_csv([(str(own), None), (str(shared), "replication_main")], str(out))
    table = pd.read_csv(out)
    assert list(table["experiment"]) == ["replication_main"] * 2
    assert list(table["seed"]) == [7, 2025] and table["ip"].iloc[1] == 0.1 + 0.2


def test_replication_config_problems():
    config = _config()
    check_config(config)
    config["experiments"]["replication"].update(
        repeats=["main", "nope"], data_seeds=[1], protect=True
    )
    with pytest.raises(ConfigError) as err:
        check_config(config)
    text = str(err.value)
    assert "experiments.replication.protect" in text
    assert "experiments.replication.repeats[1]" in text
    assert "experiments.replication.data_seeds': 1 values for 2 seeds" in text


def test_mutability_override_only_where_set():
    config = load_config(REPO / "config" / "config.yaml")
    assert "mutability" not in run_identity(config, "main", "mnist", "full", 2025)
    assert "mutability" not in run_spec_dict(config, "main", "mnist", "full", 2025)
    assert (
        run_identity(config, "monotone_increase", "mnist", "full", 2025)["mutability"] == "increase"
    )
    assert (
        run_spec_dict(config, "monotone_decrease", "mnist", "full", 2025)["mutability"]
        == "decrease"
    )
    assert run_identity(config, "monotone_increase", "mnist", "full", 2025)["protect"] is False


def _fake_ds(d=6):
    return types.SimpleNamespace(n_features=d, mutability=np.array([NONE, BOTH] * (d // 2), dtype=np.int8),
                                 lower=-np.ones(d, np.float32), upper=np.ones(d, np.float32))  # fmt: skip


def test_constraint_tensors_override():
    ds = _fake_ds()
    codes, _, _ = constraint_tensors(ds, False, override="increase")
    assert codes.tolist() == [INCREASE] * 6
    codes, _, _ = constraint_tensors(ds, True, override="decrease")
    assert codes.tolist() == [NONE, DECREASE] * 3
    assert constraint_tensors(ds, False)[0] is None


@pytest.mark.parametrize("direction", ["increase", "decrease"])
def test_monotone_counterfactuals_move_only_in_the_allowed_direction(direction):
    gen = torch.Generator().manual_seed(0)
    d, k = 784, 10
    x = torch.rand(40, d, generator=gen) * 1.6 - 0.8
    y = torch.arange(40) % k
    model = build_model("mlp", d, k, hidden=32, seed=1)
    ds = types.SimpleNamespace(n_features=d, mutability=np.full(d, BOTH, np.int8),
                               lower=-np.ones(d, np.float32), upper=np.ones(d, np.float32))  # fmt: skip
    codes, lower, upper = constraint_tensors(ds, False, override=direction)
    res = search_counterfactuals(model, x, (y + 1) % k, ECCo(0.0, 1.0), max_iter=30, tau=None,
                                 mutability=codes, lower=lower, upper=upper)  # fmt: skip
    delta = res.counterfactual - x
    moved = (delta != 0).float().mean()
    assert moved > 0.1  # the search did move pixels
    assert (delta >= 0).all() if direction == "increase" else (delta <= 0).all()
    # The example grid of the figure searches under the same codes.
    cs = make_examples("grid", model, [model], x, y, k, lower=lower, upper=upper, protected=[], seed=0,
                       mutability=codes)  # fmt: skip
    grid_delta = cs.counterfactual - cs.factual
    assert (grid_delta >= 0).all() if direction == "increase" else (grid_delta <= 0).all()
    assert np.abs(grid_delta).max() > 0
