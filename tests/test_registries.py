"""Every registered generator and dataset is tested without a test of its own, and every name list
(config schema, objective wildcard, plot labels) follows the registries (issue 14)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
import torch
from helpers import REPO, model_and_data

from cftrain.config import deep_merge, evaluation_settings, load_config
from cftrain.constraints import BOTH, DECREASE, INCREASE, NONE
from cftrain.datasets import registry
from cftrain.generators import GENERATORS, Generator, build_generator
from cftrain.models import build_model
from cftrain.objective import OBJECTIVES, Objective
from cftrain.search import search_counterfactuals
from cftrain.vae import VAE
from cftrain.validation import ConfigError, check_config

DEFAULT = load_config(REPO / "config" / "config.yaml")


class _MeanVAE(VAE):
    """Encodes to the mean (no random draw), so a latent search is deterministic and the batch and
    the one-at-a-time searches see the same latent states."""

    def encode_sample(self, x, generator=None):
        return self.encode(x)[0]


def _generator(name: str, d: int) -> Generator:
    torch.manual_seed(0)  # only the VAE's initial weights; the search itself uses no global RNG
    vae = _MeanVAE(d, 2, 16) if GENERATORS[name].needs_vae else None
    return build_generator(name, vae=vae)  # the class defaults


def _model_and_data(d=5, k=3, n=48, seed=0):
    return model_and_data(d=d, k=k, n=n, seed=seed)


@pytest.mark.parametrize("name", list(GENERATORS))
def test_every_generator_batched_equals_one_at_a_time(name):
    model, x, target = _model_and_data()
    generator = _generator(name, x.shape[1])
    kwargs = dict(step_size=0.5, max_iter=30, tau=0.8)
    batch = search_counterfactuals(model, x, target, generator, **kwargs)
    assert batch.steps.max() > 1 and (batch.counterfactual != x).any()  # the search really ran
    for i in range(x.shape[0]):
        one = search_counterfactuals(model, x[i : i + 1], target[i : i + 1], generator, **kwargs)
        assert int(one.steps[0]) == int(batch.steps[i])
        assert bool(one.converged[0]) == bool(batch.converged[i])
        assert (one.counterfactual[0] - batch.counterfactual[i]).abs().max() <= 1e-5
        assert (one.adversarial[0] - batch.adversarial[i]).abs().max() <= 1e-5


@pytest.mark.parametrize("name", list(GENERATORS))
def test_every_generator_keeps_the_constraints(name):
    """The box holds for every generator; immutable and one-directional features hold for every
    feature-space generator (a latent search does not enforce mutability, method.md §10.10)."""
    d = 6
    model, x, target = _model_and_data(d=d, n=100, seed=3)
    x = x.clamp(-1.5, 1.5)
    codes = torch.tensor([NONE, INCREASE, DECREASE, BOTH, BOTH, NONE], dtype=torch.int8)
    lower, upper = torch.full((d,), -1.5), torch.full((d,), 1.5)
    generator = _generator(name, d)
    res = search_counterfactuals(model, x, target, generator, step_size=1.0, max_iter=40, tau=0.99,
                                 mutability=codes, lower=lower, upper=upper)  # fmt: skip
    assert (res.counterfactual >= lower).all() and (res.counterfactual <= upper).all()
    assert (res.counterfactual != x).any()
    if not generator.latent:
        move = res.counterfactual - x
        assert (move[:, [0, 5]] == 0).all()
        assert (move[:, 1] >= 0).all() and (move[:, 2] <= 0).all()


@pytest.mark.parametrize("name", list(GENERATORS))
def test_every_generator_has_its_spec(name):
    cls = GENERATORS[name]
    assert cls.name == name and cls.label and cls.colour
    params = cls.defaults()
    assert set(params) == set(cls.parameters()) and "vae" not in params
    built = _generator(name, 3)
    assert {k: built.params()[k] for k in params} == params  # params() holds every parameter


def _sizes(name: str) -> dict:
    return {} if name in registry.SYNTHETIC else {"n_train": 300, "n_val": 50, "n_test": 200}


@pytest.mark.parametrize("name", registry.DATASETS)
def test_every_dataset_shapes_mutability_and_box(name, request):
    data_dir = None
    if name not in registry.SYNTHETIC:
        data_dir = request.getfixturevalue("raw_data_dir")  # skipped without the real data
    ds = registry.prepare_dataset(name, seed=42, data_dir=data_dir, **_sizes(name))
    d = ds.n_features
    for split in ("train", "val", "test"):
        x, y = getattr(ds, f"X_{split}"), getattr(ds, f"y_{split}")
        assert x.ndim == 2 and x.shape[1] == d and y.shape == (x.shape[0],) and len(y) > 0
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert np.isfinite(x).all() and y.min() >= 0 and y.max() < ds.n_classes
    assert len(ds.feature_names) == d and ds.n_classes >= 2
    assert ds.mutability.shape == (d,)
    assert set(np.unique(ds.mutability)) <= {NONE, INCREASE, DECREASE, BOTH}
    assert ds.protected and (ds.mutability[ds.protected] == NONE).all()
    assert ds.lower.shape == ds.upper.shape == (d,) and (ds.lower <= ds.upper).all()
    for x in (ds.X_train, ds.X_val):  # the box is fitted on (at least) the training pool
        assert (x >= ds.lower).all() and (x <= ds.upper).all()
    assert name in registry.LABELS


# ---- name lists follow the registries -----------------------------------------------------------


@dataclass
class _Dummy(Generator):
    name: ClassVar[str] = "dummy"
    label: ClassVar[str] = "Dummy"
    colour: ClassVar[str] = "tab:cyan"

    lambda_x: float = 1.0

    def penalty(self, x_cf, factual, logits, target, step, max_iter):
        return self.lambda_x * (x_cf - factual).abs().sum(dim=1)


def _with(update: dict) -> dict:
    return deep_merge(DEFAULT, update)


def test_schema_and_wildcard_follow_the_registries(monkeypatch):
    from cftrain.workflow import objective_pattern

    new = {
        "training": {"generator": {"name": "dummy", "lambda_x": 2.0}},
        "experiments": {"main": {"objectives": ["vanilla", "dummyobj-dummy"]}},
        "datasets": {"dummyset": {"batch_size": 1, "n_ce": 1, "tau": 0.5, "lambda_reg": 0.1}},
    }
    with pytest.raises(ConfigError) as info:
        check_config(_with(new))
    message = str(info.value)
    assert "'dummy' is not one of" in message and "'dummyobj-dummy' is not valid" in message
    assert "unknown key 'datasets.dummyset'" in message
    assert not re.fullmatch(objective_pattern(), "dummyobj-dummy")

    monkeypatch.setitem(GENERATORS, "dummy", _Dummy)
    monkeypatch.setitem(OBJECTIVES, "dummyobj", Objective(True, False, False, "DO", "tab:pink"))
    monkeypatch.setattr(registry, "DATASETS", [*registry.DATASETS, "dummyset"])
    check_config(_with(new))  # accepted once registered, no schema edit
    assert re.fullmatch(objective_pattern(), "dummyobj-dummy")
    with pytest.raises(ConfigError, match=r"unknown key 'training.generator.lambda_y' \(allowed: lambda_x, name\)"):  # fmt: skip
        check_config(_with({"training": {"generator": {"name": "dummy", "lambda_y": 1.0}}}))
    assert build_generator({"name": "dummy"}) == _Dummy(1.0)


def test_no_name_list_is_typed_by_hand():
    """The static schema and the wildcard constraints name no generator, objective or dataset."""
    from cftrain.validation import load_schema

    names = {*GENERATORS, *OBJECTIVES, *registry.DATASETS}

    def walk(node):
        if isinstance(node, dict):
            assert not names & set(map(str, node.get("enum", []))), node
            assert not any(n in str(node.get("pattern", "")) for n in names), node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(load_schema())
    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    assert "objective=wf.objective_pattern()" in common


def test_plot_labels_are_derived():
    from cftrain.plots.common import DATASET_LABELS, OBJECTIVE_COLOURS, OBJECTIVE_LABELS

    assert OBJECTIVE_LABELS["full"] == "CT" and OBJECTIVE_LABELS["vanilla"] == "BL"
    for name, cls in GENERATORS.items():
        assert OBJECTIVE_LABELS[f"full-{name}"] == f"CT ({cls.label})"
        assert OBJECTIVE_COLOURS[f"full-{name}"] == cls.colour
    assert (
        OBJECTIVE_COLOURS["full-ecco"] == "tab:red" and OBJECTIVE_COLOURS["vanilla"] == "tab:gray"
    )
    assert DATASET_LABELS is registry.LABELS


def test_figure_and_table_registries_drive_renderers_and_builders():
    from cftrain import tables
    from cftrain.plots import RENDERERS
    from cftrain.workflow import FIGURES, TABLES

    assert RENDERERS == {name: spec["renderer"] for name, spec in FIGURES.items()}
    for spec in TABLES.values():
        module, func = spec["builder"].split(":")
        assert module == "cftrain.tables" and callable(getattr(tables, func))


# ---- the test-time generator is a config object -------------------------------------------------


def _evaluation(update: dict) -> dict:
    config = _with({"evaluation": {"runs": 2, "n_individuals": 10, "max_iter": 10, **update}})
    check_config(config)
    return evaluation_settings(config, "main", "moons")


def test_test_time_generator_from_config(tmp_path):
    """A non-ECCo test-time generator changes the `generator` attribute and the counterfactuals."""
    from cftrain.datasets import prepare_dataset, write_dataset
    from cftrain.modelio import save_model
    from cftrain.steps.counterfactuals import counterfactuals_step
    from cftrain.store import read_counterfactuals

    ds = prepare_dataset("moons", seed=1, n_train=200, n_val=20, n_test=100)
    write_dataset(ds, tmp_path / "moons.h5")
    model = build_model("mlp", 2, 2, hidden=8, seed=0)
    save_model(
        tmp_path / "model.pt", model, {"name": "mlp", "n_features": 2, "n_classes": 2, "hidden": 8}
    )
    spec = {"experiment": "main", "dataset": "moons", "objective": "vanilla", "seed": 3,
            "protect": False, "device": "cpu"}  # fmt: skip
    out = {}
    for name, update in {
        "ecco": {"lambda_energy": [1.0]},
        "wachter": {"generator": {"name": "wachter"}, "lambda_energy": [1.0]},
        "generic": {"generator": {"name": "generic", "lambda_cost": 0.5}, "lambda_energy": [1.0]},
    }.items():
        settings = _evaluation(update)
        path = tmp_path / f"{name}.h5"
        counterfactuals_step(
            spec, settings, str(tmp_path / "moons.h5"), str(tmp_path / "model.pt"), [str(path)]
        )
        out[name] = read_counterfactuals(str(path))
    assert out["ecco"].attrs["generator"] == "ecco"
    assert (out["ecco"].attrs["lambda_cost"], out["ecco"].attrs["lambda_energy"]) == (0.0, 1.0)
    assert (
        out["wachter"].attrs["generator"] == "wachter"
        and out["wachter"].attrs["lambda_cost"] == 0.1
    )
    assert (
        out["generic"].attrs["generator"] == "generic"
        and out["generic"].attrs["lambda_cost"] == 0.5
    )
    np.testing.assert_array_equal(out["ecco"].factual, out["wachter"].factual)  # same draws
    for other in ("wachter", "generic"):
        assert not np.array_equal(out["ecco"].counterfactual, out[other].counterfactual)


def test_energy_sweep_needs_one_value_without_an_energy_term():
    with pytest.raises(ConfigError, match=r"'wachter' has no energy term, so the sweep must hold exactly one value \(got 2\)"):  # fmt: skip
        _evaluation({"generator": {"name": "wachter"}, "lambda_energy": [0.5, 5.0]})
    with pytest.raises(ConfigError, match="set by the test-time sweep"):
        _evaluation({"generator": {"lambda_energy": 2.0}})
    assert _evaluation({"generator": {"name": "wachter"}, "lambda_energy": [5.0]})["generator"] == {
        "name": "wachter", "lambda_cost": 0.1,
    }  # fmt: skip


def test_register_rejects_non_generators_and_taken_names(monkeypatch):
    """`register` takes dataclass subclasses of Generator only, refuses a second class under a
    taken name and accepts the same class twice; it writes into `GENERATORS` (a copy here)."""
    import cftrain.generators as package

    copy = dict(GENERATORS)
    monkeypatch.setattr(package, "GENERATORS", copy)

    class NotAGenerator:
        name = "not-a-generator"

    with pytest.raises(TypeError, match=r"\.NotAGenerator'> is not a Generator subclass$"):
        package.register(NotAGenerator)
    with pytest.raises(TypeError, match=r"^<built-in function len> is not a Generator subclass$"):
        package.register(len)

    class Plain(Generator):
        name: ClassVar[str] = "plain"

    with pytest.raises(TypeError, match=r"^generator Plain must be a dataclass \(its fields are its params\)$"):  # fmt: skip
        package.register(Plain)

    @dataclass
    class Impostor(Generator):
        name: ClassVar[str] = "ecco"

    with pytest.raises(ValueError, match=r"^generator name 'ecco' is already registered$"):
        package.register(Impostor)
    assert copy["ecco"] is GENERATORS["ecco"] is not Impostor

    @dataclass
    class Fresh(Generator):
        name: ClassVar[str] = "fresh"

    assert package.register(Fresh) is Fresh and copy["fresh"] is Fresh
    assert package.register(Fresh) is Fresh and copy["fresh"] is Fresh  # the same class again
    assert set(copy) == {*GENERATORS, "fresh"}


def test_generator_spec_errors_name_the_problem():
    """Full messages: an unknown name lists the registered ones, a spec without `name` is shown,
    an unknown parameter names the generator and the allowed parameters."""
    names = ", ".join(GENERATORS)
    assert names.startswith("ecco, generic, revise, wachter")
    with pytest.raises(ValueError, match=rf"^unknown generator 'nope': use one of {re.escape(names)}$"):  # fmt: skip
        build_generator("nope")
    with pytest.raises(ValueError, match=r"^generator spec \{'lambda_cost': 0\.5\} has no 'name'$"):
        build_generator({"lambda_cost": 0.5})
    with pytest.raises(ValueError, match=r"^generator 'generic' has no parameter\(s\) lambda_energy \(allowed: lambda_cost\)$"):  # fmt: skip
        build_generator({"name": "generic", "lambda_energy": 1.0})
