"""The ablation covers all nine datasets; Fig. 4 (robustness) only the real-world ones (method.md §8)."""

import copy

import pandas as pd
import pytest
from helpers import REPO

import cftrain.workflow as wf
from cftrain.config import load_config
from cftrain.datasets.registry import REAL
from cftrain.plots import render


@pytest.fixture(scope="module")
def config():
    return load_config(REPO / "config" / "config.yaml")


def test_ablation_runs_on_the_nine_paper_datasets(config):
    ablation = config["experiments"]["ablation"]["datasets"]
    assert sorted(ablation) == sorted(config["experiments"]["main"]["datasets"])
    assert len(ablation) == 9 and {"lin_sep", "circles", "moons", "over"} <= set(ablation)


def test_robustness_figure_draws_real_datasets_only(config):
    assert wf.figure_wanted(config, "robustness") and wf.figure_wanted(config, "ablation")
    synthetic_only = copy.deepcopy(config)
    synthetic_only["experiments"]["ablation"]["datasets"] = ["moons", "circles"]
    assert wf.figure_wanted(synthetic_only, "ablation")
    assert not wf.figure_wanted(synthetic_only, "robustness")


def test_robustness_renderer_ignores_synthetic_rows(tmp_path):
    rows = [{"experiment": "ablation", "dataset": "moons", "objective": o, "seed": 0, "attack": "fgsm",
             "eps": e, "accuracy": 0.9, "macro_f1": 0.9}
            for o in ("vanilla", "full") for e in (0.0, 0.1)]  # fmt: skip
    path = tmp_path / "performance.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(ValueError, match="real-world"):
        render("robustness", [str(path)], [str(tmp_path / "r.png"), str(tmp_path / "r.pdf")])
    assert "moons" not in REAL
