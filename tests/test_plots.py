"""Every figure renderer on tiny synthetic inputs (method.md §8): PNG and PDF written, non-trivial,
and a clear error naming the file when an input holds nothing to draw."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
from imagecheck import assert_drawn

import cftrain.workflow as wf
from cftrain.datasets import write_dataset
from cftrain.datasets.container import DatasetSplits
from cftrain.plots import RENDERERS, render
from cftrain.store import CounterfactualSet, write_counterfactuals, write_ig_maps, write_surface

RNG = np.random.default_rng(0)
EXPERIMENTS = ["ablation", "generators"]


def _dataset(path, d: int, n: int = 60, n_classes: int = 2):
    x = RNG.uniform(-1, 1, size=(n, d)).astype(np.float32)
    y = np.arange(n) % n_classes
    ds = DatasetSplits(
        name="synthetic", X_train=x, y_train=y, X_val=x, y_val=y, X_test=x, y_test=y,
        feature_names=[f"x{i + 1}" for i in range(d)], protected=[0], mutability=np.ones(d, dtype=np.int8),
        lower=-np.ones(d, np.float32), upper=np.ones(d, np.float32), n_classes=n_classes, seed=0,
    )  # fmt: skip
    write_dataset(ds, path)
    return str(path)


def _store(path, factual, target, objective="full", **attrs):
    n = len(target)
    cs = CounterfactualSet(
        factual=factual.astype(np.float32),
        counterfactual=np.clip(factual + RNG.normal(0, 0.3, factual.shape), -1, 1).astype(np.float32),
        target=np.asarray(target, dtype=np.int64), factual_label=np.asarray(attrs.pop("labels", np.zeros(n)), np.int64),
        converged=np.ones(n, bool), steps=np.full(n, 10, np.int32),
        attrs={"generator": "ecco", "dataset": "synthetic", "objective": objective, "seed": 0, "lambda_energy": 1.0,
               "max_iter": 50, **attrs},
    )  # fmt: skip
    write_counterfactuals(path, cs)
    return str(path)


def _surface(path, w):
    gx, gy = np.meshgrid(np.linspace(-2, 2, 40), np.linspace(-2, 2, 40))
    p1 = 1 / (1 + np.exp(-(w[0] * gx + w[1] * gy)))
    write_surface(path, gx, gy, np.stack([1 - p1, p1], axis=-1))
    return str(path)


def _grid(path, objective):
    factual = np.repeat(RNG.uniform(-1, 1, size=(10, 784)), 10, axis=0)
    return _store(
        path, factual, np.tile(np.arange(10), 10), objective, labels=np.repeat(np.arange(10), 10)
    )


def _metrics_csv(path, experiment, dataset_objectives):
    rows = []
    for dataset, objectives in dataset_objectives.items():
        for i, objective in enumerate(objectives):
            for run in range(4):
                for lam in (0.5, 5.0):
                    rows.append({"experiment": experiment, "dataset": dataset, "objective": objective, "seed": 0,
                                 "lambda_energy": lam, "run": run, "n": 20, "n_valid": 15,
                                 "validity": 0.5 + 0.1 * i, "cost": 1.0 + RNG.random(),
                                 "ip": 3.0 - 0.5 * i + 0.1 * RNG.random(), "ip_star": 0.5 - 0.1 * i + 0.01 * RNG.random()})  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def inputs_for(name: str, tmp) -> list[str]:
    """Synthetic inputs in the order `workflow.figure_inputs` lists them for `name`."""
    if name in ("poc", "moons_ce_examples"):
        data = _dataset(tmp / "d2.h5", 2)
        surfaces = [_surface(tmp / "s_bl.h5", (1.0, 0.2)), _surface(tmp / "s_ct.h5", (1.0, 1.0))]
        x = RNG.uniform(-1, 1, size=(5, 2))
        if name == "poc":
            stores = [
                _store(tmp / f"{k}_{o}.h5", x, np.ones(5), o)
                for k in ("free", "prot")
                for o in ("vanilla", "full")
            ]
            return [data, *surfaces, *stores]
        extra = {"run": np.zeros(5, np.int32), "predicted": np.ones(5, np.int64)}
        stores = []
        for o in ("vanilla", "full"):
            path = tmp / f"cf_{o}.h5"
            _store(path, x, np.ones(5), o)
            with h5py.File(path, "a") as f:
                for k, v in extra.items():
                    f[k] = v
            stores.append(str(path))
        return [data, *surfaces, *stores]
    if name == "mnist_ce":
        data = _dataset(tmp / "m.h5", 784, n=20, n_classes=10)
        x = np.repeat(RNG.uniform(-1, 1, size=(1, 784)), 9, axis=0)
        return [
            data,
            *(_store(tmp / f"digit_{o}.h5", x, np.arange(1, 10), o) for o in ("vanilla", "full")),
        ]
    if name == "mnist_ig":
        data = _dataset(tmp / "m.h5", 784, n=20, n_classes=10)
        paths = []
        for o in ("vanilla", "full"):
            write_ig_maps(tmp / f"ig_{o}.h5", RNG.random((10, 784)), "mnist")
            paths.append(str(tmp / f"ig_{o}.h5"))
        return [data, *paths]
    if name in ("mnist_grid_vanilla", "mnist_grid_ct"):
        return [_dataset(tmp / "m.h5", 784, n=20, n_classes=10), _grid(tmp / "grid.h5", "vanilla")]
    if name == "mnist_grids_generators":
        data = _dataset(tmp / "m.h5", 784, n=20, n_classes=10)
        return [
            data,
            *(_grid(tmp / f"grid_{o}.h5", o) for o in ("full-generic", "full-ecco", "full-revise")),
        ]
    if name == "robustness":
        rows = [{"experiment": "ablation", "dataset": d, "objective": o, "seed": 0, "attack": a, "eps": e,
                 "accuracy": 0.9 - e * (5 - i), "macro_f1": 0.8}
                for d in ("adult", "gmsc") for i, o in enumerate(wf.FIGURES["robustness"]["objectives"])
                for a in ("fgsm", "pgd") for e in np.linspace(0, 0.1, 4)]  # fmt: skip
        pd.DataFrame(rows).to_csv(tmp / "performance.csv", index=False)
        return [str(tmp / "performance.csv")]
    if name == "ablation":
        objectives = wf.FIGURES["ablation"]["objectives"]
        return [_metrics_csv(tmp / "cf.csv", "ablation", {"adult": objectives, "gmsc": objectives})]
    if name == "moons_plausibility":
        return [
            _metrics_csv(
                tmp / "cf.csv",
                "generators",
                {"moons": ["vanilla", "full-generic", "full-ecco", "full-revise"]},
            )
        ]
    if name == "moons_val_accuracy":
        rows = [{"experiment": "generators", "dataset": "moons", "objective": o, "seed": 0, "epoch": e,
                 "train_accuracy": 0.5 + 0.04 * e, "val_accuracy": 0.5 + 0.04 * e - 0.01 * i}
                for i, o in enumerate(["vanilla", "full-generic", "full-ecco", "full-revise"]) for e in range(1, 11)]  # fmt: skip
        pd.DataFrame(rows).to_csv(tmp / "logs.csv", index=False)
        return [str(tmp / "logs.csv")]
    if name == "mnist_monotone":
        data = _dataset(tmp / "m.h5", 784, n=20, n_classes=10)
        grids = []
        for constraint in ("increase", "decrease"):
            for o in ("vanilla", "full"):
                path = _grid(tmp / f"grid_{constraint}_{o}.h5", o)
                with h5py.File(path, "a") as f:
                    f.attrs["mutability"] = constraint
                grids.append(path)
        return [data, *grids]
    if name == "replication":
        frames = []
        for seed in range(3):
            for experiment in ("replication_main", "replication_mutability"):
                frame = pd.read_csv(
                    _metrics_csv(
                        tmp / "r.csv",
                        experiment,
                        {"moons": ["vanilla", "full"], "gmsc": ["vanilla", "full"]},
                    )
                )
                frames.append(frame.assign(seed=seed))
        pd.concat(frames).to_csv(tmp / "replication_metrics.csv", index=False)
        main = [
            pd.read_csv(_metrics_csv(tmp / "m.csv", e, {"moons": ["vanilla", "full"]}))
            for e in ("main", "mutability")
        ]
        pd.concat(main).to_csv(tmp / "counterfactual_metrics.csv", index=False)
        return [str(tmp / "replication_metrics.csv"), str(tmp / "counterfactual_metrics.csv")]  # fmt: skip
    baselines = wf.FIGURES.get(name, {}).get("objectives") if name.startswith("baselines") else None
    if name == "baselines_robustness":
        rows = [{"experiment": "baselines", "dataset": d, "objective": o, "seed": 0, "attack": a, "eps": e,
                 "accuracy": 0.9 - e * (5 - i), "macro_f1": 0.8}
                for d in ("moons", "gmsc") for i, o in enumerate(baselines)
                for a in ("fgsm", "pgd") for e in np.linspace(0, 0.1, 4)]  # fmt: skip
        pd.DataFrame(rows).to_csv(tmp / "performance.csv", index=False)
        return [str(tmp / "performance.csv")]
    if name == "baselines_plausibility":
        cf = _metrics_csv(tmp / "cf.csv", "baselines", {"moons": baselines, "gmsc": baselines})
        rows = [{"experiment": "baselines", "dataset": d, "objective": o, "seed": 0, "class": k,
                 "mmd2": 0.1 * (i + 1) + 0.01 * k, "finite_share": 1.0}
                for d in ("moons", "gmsc") for i, o in enumerate(baselines) for k in (0, 1)]  # fmt: skip
        pd.DataFrame(rows).to_csv(tmp / "generative.csv", index=False)
        return [cf, str(tmp / "generative.csv")]
    if name == "baselines_samples":
        from cftrain.evaluation.generative import write_samples

        out = []
        for d, (n_features, n_classes, n) in {"moons": (2, 2, 400), "mnist": (784, 10, 10)}.items():
            out.append(_dataset(tmp / f"{d}.h5", n_features, n=n * n_classes, n_classes=n_classes))
            label = np.repeat(np.arange(n_classes), n)
            for o in baselines:
                path = tmp / f"{d}_{o}" / "generative_samples.h5"
                path.parent.mkdir()
                start = RNG.uniform(-1, 1, size=(len(label), n_features))
                write_samples(path, start, start * 0.5, label, d, o)
                out.append(str(path))
        return out
    raise AssertionError(f"no synthetic inputs for {name}")


def test_every_figure_has_a_renderer():
    assert set(RENDERERS) == set(wf.FIGURES)


@pytest.mark.parametrize("name", sorted(wf.FIGURES))
def test_renderer_writes_png_and_pdf(name, tmp_path):
    outputs = [tmp_path / "out" / f"{name}.png", tmp_path / "out" / f"{name}.pdf"]
    render(name, inputs_for(name, tmp_path), [str(p) for p in outputs])
    assert_drawn(outputs[0], outputs[1])
    assert not list((tmp_path / "out").glob(".*tmp"))


@pytest.mark.parametrize(
    "name", ["robustness", "ablation", "moons_plausibility", "moons_val_accuracy"]
)
def test_table_without_matching_rows_names_the_file(name, tmp_path):
    path = tmp_path / "wrong_experiment.csv"
    pd.DataFrame({"experiment": ["main"], "dataset": ["moons"], "objective": ["full"]}).to_csv(
        path, index=False
    )
    with pytest.raises(ValueError, match="wrong_experiment.csv"):
        render(name, [str(path)], [str(tmp_path / "x.png")])
    path.write_text("")
    with pytest.raises(ValueError, match="wrong_experiment.csv.*empty"):
        render(name, [str(path)], [str(tmp_path / "x.png")])


def test_empty_counterfactual_file_names_the_file(tmp_path):
    data, grid = inputs_for("mnist_grid_ct", tmp_path)
    empty = tmp_path / "empty_grid.h5"
    _store(empty, np.zeros((0, 784)), np.zeros(0))
    with pytest.raises(ValueError, match="empty_grid.h5"):
        render("mnist_grid_ct", [data, str(empty)], [str(tmp_path / "x.png")])


def test_unknown_figure_is_rejected():
    with pytest.raises(ValueError, match="no renderer"):
        render("nope", [], [])
