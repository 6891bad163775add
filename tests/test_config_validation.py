"""Config validation before any job starts (issue 8): every problem, each naming its key path."""

from __future__ import annotations

import copy
import os

import pytest
import yaml
from helpers import REPO, copy_repo, run_snakemake

from cftrain.config import deep_merge, load_config
from cftrain.datasets.sources import raw_input
from cftrain.validation import ConfigError, check_config, key_path

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT = load_config(REPO / "config" / "config.yaml")
ADULT = {"batch_size": 1000, "n_ce": 5000, "tau": 0.75, "lambda_reg": 0.25}


def _overlay(update: dict) -> dict:
    """Merge like `snakemake --configfile`: mappings merge, lists and scalars replace."""
    return deep_merge(DEFAULT, update)


def _experiment(**extra) -> dict:
    return {"experiments": {"main": {"datasets": ["moons"], "objectives": ["vanilla"], **extra}}}


# (id, overlay, expected message substrings)
BAD = [
    ("typo_key", {"training": {"epochz": 3}},
     ["unknown key 'training.epochz' (allowed: burnin, categorical, epochs, epsilon,"]),
    ("wrong_type", {"training": {"epochs": "ten"}},
     ["config key 'training.epochs': 'ten' is not of type 'integer'"]),
    ("negative_epochs", {"training": {"epochs": -3}},
     ["config key 'training.epochs': -3 is less than the minimum of 1"]),
    ("unknown_dataset", {"experiments": {"main": {"datasets": ["moon"]}}},
     ["config key 'experiments.main.datasets[0]': 'moon' is not one of [lin_sep, over,"]),
    ("unknown_generator", {"training": {"generator": {"name": "wachterr"}}},
     ["config key 'training.generator.name': 'wachterr' is not one of [ecco, generic, revise, wachter]"]),
    ("generator_not_a_mapping", {"training": {"generator": "ecco"}},
     ["config key 'training.generator': 'ecco' is not of type 'object'"]),
    ("unknown_generator_parameter", {"evaluation": {"generator": {"name": "generic", "lambda_energy": 1.0}}},
     ["unknown key 'evaluation.generator.lambda_energy' (allowed: lambda_cost, name)"]),
    ("unknown_objective_parameter", {"training": {"objective_params": {"jem": {"bogus": 1}}}},
     ["unknown key 'training.objective_params.jem.bogus' (allowed: buffer_size, lambda_gen,"]),
    ("objective_without_parameters", {"training": {"objective_params": {"full": {"epsilon": 1}}}},
     ["unknown key 'training.objective_params.full' (allowed: jem, pgd_at)"]),
    ("bad_pgd_at_mode", {"experiments": {"main": {"training": {"objective_params": {"pgd_at": {"mode": "mix"}}}}}},
     ["config key 'experiments.main.training.objective_params.pgd_at.mode': 'mix' is not one of [replace, augment]"]),
    ("empty_seeds", {"seeds": []}, ["config key 'seeds': [] should be non-empty"]),
    ("tau_above_one", {"datasets": {"moons": {"tau": 1.5}}},
     ["config key 'datasets.moons.tau': 1.5 is greater than the maximum of 1"]),
    ("unknown_experiment", {"experiments": {"mainn": {"datasets": ["moons"], "objectives": ["full"]}}},
     ["unknown key 'experiments.mainn' (allowed: main, mutability, ablation, generators, poc, replication, monotone_increase, monotone_decrease, baselines)"]),
    ("bad_objective", {"experiments": {"main": {"objectives": ["fulll"]}}},
     ["config key 'experiments.main.objectives[0]': 'fulll' is not valid: an objective (vanilla, full,"]),
    ("unsafe_experiment_name", {"experiments": {"../x": {"datasets": ["moons"], "objectives": ["full"]}}},
     ["unknown key 'experiments['../x']' (allowed: main,"]),
    ("unsafe_dataset_name", {"datasets": {"../moons": ADULT}},
     ["unknown key 'datasets['../moons']' (allowed: lin_sep,"]),
    ("lambda_energy_empty", {"evaluation": {"lambda_energy": []}},
     ["config key 'evaluation.lambda_energy': [] should be non-empty"]),
    ("training_lambda_energy_list", {"training": {"generator": {"lambda_energy": []}}},
     ["config key 'training.generator.lambda_energy': [] is not of type 'number'"]),
    ("old_lambda_cost_key", {"evaluation": {"lambda_cost": 0.0}},
     ["unknown key 'evaluation.lambda_cost' (allowed:"]),
    ("missing_required", {"experiments": {"main": {"datasets": None}}},
     ["config key 'experiments.main.datasets': None is not of type 'array'"]),
    ("bool_is_not_int", {"vae": {"epochs": True}},
     ["config key 'vae.epochs': True is not of type 'integer'"]),
    ("dataset_entry_not_mapping", {"datasets": {"circles": None}},
     ["config key 'datasets.circles': None is not of type 'object'"]),
    ("override_unknown_keys", _experiment(training={"epochz": 1, "tau": 2}, model={"hiden": 3},
                                          evaluation={"runs": 0}),
     ["unknown key 'experiments.main.training.epochz' (allowed: batch_size, burnin,",
      "config key 'experiments.main.training.tau': 2 is greater than the maximum of 1",
      "unknown key 'experiments.main.model.hiden' (allowed: hidden, name)",
      "config key 'experiments.main.evaluation.runs': 0 is less than the minimum of 1"]),
    ("dataset_training_bad", _experiment(dataset_training={"moons": {"n_ce": 0}, "mnst": {}}),
     ["config key 'experiments.main.dataset_training.moons.n_ce': 0 is less than the minimum of 1",
      "unknown key 'experiments.main.dataset_training.mnst' (allowed: lin_sep,"]),
]  # fmt: skip


@pytest.mark.parametrize(("update", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_malformed_config_is_rejected_with_key_path(update, expected):
    with pytest.raises(ConfigError) as info:
        check_config(_overlay(update), SCHEMA)
    for text in expected:
        assert text in str(info.value), str(info.value)
    assert len(info.value.problems) == len(expected), info.value.problems


def test_all_problems_are_reported_at_once():
    update = {"training": {"epochz": 3, "epochs": 0}, "seeds": [], "device": "tpu"}
    with pytest.raises(ConfigError) as info:
        check_config(_overlay(update), SCHEMA)
    message = str(info.value)
    assert message.startswith("invalid config (4 problem(s)):")
    for key in ("'training.epochz'", "'training.epochs'", "'seeds'", "'device': 'tpu'"):
        assert key in message


def test_experiment_dataset_needs_a_datasets_entry():
    config = _overlay({"experiments": {"main": {"datasets": ["moons", "circles"]}}})
    del config["datasets"]["circles"]
    with pytest.raises(
        ConfigError, match=r"experiments.main.datasets\[1\]': 'circles' has no entry"
    ):
        check_config(config, SCHEMA)


def test_validation_passes_with_no_data_folder(tmp_path, monkeypatch):
    """A missing raw-data folder is no config error: the workflow fetches missing raw files."""
    config = _overlay({"experiments": {"main": {"datasets": ["moons", "adult"]}}})
    missing = str(tmp_path / "nope")
    monkeypatch.setenv("CFTRAIN_DATA_DIR", missing)
    check_config({**config, "data_dir": missing}, SCHEMA)
    check_config({**config, "data_dir": None, "data_mirror": "http://127.0.0.1:1/raw"}, SCHEMA)
    assert raw_input(config, "adult") == ["resources/raw/adult.csv.gz"]  # fetched into the cache
    monkeypatch.setenv("CFTRAIN_DATA_DIR", str(tmp_path))
    (tmp_path / "adult.csv.gz").write_bytes(b"")
    assert raw_input(config, "adult") == [str(tmp_path / "adult.csv.gz")]  # used in place
    assert raw_input(config, "moons") == []
    with pytest.raises(ConfigError, match="data_mirror"):
        check_config({**config, "data_mirror": 3}, SCHEMA)


def test_snakemake_dry_run_with_no_data_folder_plans_the_fetch(repo_copy):
    env = {k: v for k, v in os.environ.items() if k != "CFTRAIN_DATA_DIR"}
    proc = run_snakemake(repo_copy, "-n", "results/data/adult.h5", "--config",
                         "data_dir=/no/such/folder", timeout=120, env=env)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "rule fetch_raw:" in out and "resources/raw/adult.csv.gz" in out


def test_non_plain_yaml_values_are_rejected():
    config = _overlay({})
    config["training"]["lr"] = (0.1, 0.2)  # what `!!python/tuple` builds under yaml.FullLoader
    with pytest.raises(ConfigError, match="'training.lr': tuple is not a plain YAML value"):
        check_config(config, SCHEMA)


def test_shipped_configs_and_valid_overrides_pass():
    check_config(DEFAULT)  # default schema path: this repository's
    check_config(load_config(REPO / "config/config.yaml", REPO / "config/quick.yaml"))
    ok = _experiment(training={"epochs": 5, "tau": 0.5, "n_ce": 10}, model={"name": "linear"},
                     evaluation={"tau": 0.5}, dataset_training={"moons": {"batch_size": 10}}, protect=True)  # fmt: skip
    check_config(_overlay(ok), SCHEMA)


def test_snakemake_validate_adds_no_defaults_to_override_sections():
    """Override sections have no schema defaults: a default there would shadow the top level."""
    from snakemake.utils import validate

    config = _overlay(_experiment(training={"epochs": 5}))
    validate(config, str(SCHEMA))
    assert config["experiments"]["main"]["training"] == {"epochs": 5}


def test_key_path_quotes_odd_names():
    assert key_path(("experiments", "main", "datasets", 0)) == "experiments.main.datasets[0]"
    assert key_path(("experiments", "../x")) == "experiments['../x']"


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory):
    return copy_repo(tmp_path_factory.mktemp("validation_repo"))


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*"))


DRY_RUN = [
    b
    for b in BAD
    if b[0] in ("typo_key", "unknown_dataset", "empty_seeds", "unsafe_experiment_name")
]


@pytest.mark.parametrize(
    ("update", "expected"), [b[1:] for b in DRY_RUN], ids=[b[0] for b in DRY_RUN]
)
def test_snakemake_dry_run_fails_before_any_job(repo_copy, tmp_path, update, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(copy.deepcopy(update)))
    before = _files(repo_copy)
    proc = run_snakemake(repo_copy, "-n", "--configfile", str(bad), timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "invalid config" in out and all(text in out for text in expected), out
    assert _files(repo_copy) == before  # no results/, no .snakemake/, nothing
