"""Steps of workflow/rules/evaluate.smk: per-model metrics, performance, IG and the files figures
draw (decision surfaces, IG maps, examples), method.md §6."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from cftrain.datasets import read_dataset
from cftrain.io import atomic_path
from cftrain.modelio import load_model
from cftrain.steps.common import _tag, constraint_tensors, log, tensors
from cftrain.store import read_counterfactuals, write_counterfactuals, write_ig_maps, write_surface


def evaluate_step(
    spec: dict, settings: dict, data: str, counterfactuals: list[str], output: str
) -> None:
    """Score one model's test-time counterfactuals: one tidy row per (run, setting)."""
    from cftrain.evaluation.scores import score_counterfactuals

    ds = read_dataset(data)
    frames = []
    for index, path in enumerate(counterfactuals):
        cs = read_counterfactuals(path)
        frame = score_counterfactuals(
            cs, ds.X_test, ds.y_test, ip_draws=int(settings["ip_draws"]), mmd_samples=int(settings["mmd_samples"]),
            mmd_length_scale=float(settings["mmd_length_scale"]), seed=int(settings["seed"]) + index,
        )  # fmt: skip
        frame.insert(0, "lambda_energy", float(cs.attrs["lambda_energy"]))
        frames.append(frame)
    table = _tag(pd.concat(frames, ignore_index=True), spec)
    with atomic_path(output) as tmp:
        table.to_csv(tmp, index=False)
    log.info("scored %d rows; mean validity %.3f", len(table), table["validity"].mean())


def performance_step(spec: dict, settings: dict, data: str, model_path: str, output: str) -> None:
    """Clean accuracy and macro-F1; FGSM/PGD robust accuracy when the experiment asks for it."""
    from cftrain.evaluation.performance import model_performance

    ds = read_dataset(data)
    model = load_model(model_path, spec.get("device", "cpu"))
    x, y = tensors(ds, "test", spec.get("device", "cpu"))
    attack = {k: v for k, v in settings.items() if k != "robustness"}  # none without robustness
    table = model_performance(
        model, x, y, ds.n_classes, robustness=bool(settings["robustness"]), **attack
    )
    with atomic_path(output) as tmp:
        _tag(table, spec).to_csv(tmp, index=False)
    log.info("test accuracy %.4f", table["accuracy"].iloc[0])


def attribution_step(spec: dict, settings: dict, data: str, model_path: str, output: str) -> None:
    """Standardised IG on the protected features, one row per bootstrap round (method.md §6.2)."""
    from cftrain.attribution import protected_ig_rounds

    ds = read_dataset(data)
    model = load_model(model_path)
    x, y = tensors(ds, "test")
    if not ds.protected:
        raise ValueError(f"{data}: dataset {ds.name} has no protected features to attribute")
    values = protected_ig_rounds(
        model, x, y, ds.protected, rounds=int(settings["ig_rounds"]), n_samples=int(settings["ig_samples"]),
        steps=int(settings["ig_steps"]), generator=torch.Generator().manual_seed(int(settings["seed"])),
    )  # fmt: skip
    table = _tag(pd.DataFrame({"round": np.arange(len(values)), "value": values}), spec)
    with atomic_path(output) as tmp:
        table.to_csv(tmp, index=False)
    log.info("median standardised IG on protected features: %.4f", float(np.nanmedian(values)))


def decision_surface_step(data: str, model_path: str, output: str, resolution: int = 200) -> None:
    """Class-1 probability on a grid over a 2-D dataset (drawn by figures without the model)."""
    ds = read_dataset(data)
    if ds.n_features != 2:
        raise ValueError(f"decision surface needs 2-D data, {ds.name} has {ds.n_features} features")
    model = load_model(model_path)
    pts = np.concatenate([ds.X_train, ds.X_test])
    lo, hi = pts.min(axis=0) - 1.0, pts.max(axis=0) + 1.0
    gx, gy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = torch.as_tensor(np.c_[gx.ravel(), gy.ravel()], dtype=torch.float32)
    with torch.no_grad():
        prob = torch.softmax(model(grid), dim=1).numpy()
    write_surface(output, gx, gy, prob.reshape(resolution, resolution, -1))


def ig_maps_step(data: str, model_path: str, output: str, seed: int) -> None:
    """Class-averaged IG maps (n_classes, d) for the MNIST IG figure."""
    from cftrain.evaluation.ig_maps import class_ig_maps

    ds = read_dataset(data)
    model = load_model(model_path)
    x, y = tensors(ds, "test")
    maps = class_ig_maps(model, x, y, ds.n_classes, seed=seed).numpy().astype(np.float32)
    write_ig_maps(output, maps, ds.name)


def examples_step(
    kind: str, spec: dict, data: str, model_path: str, peers: list[str], output: str
) -> None:
    """Counterfactual examples of one kind for one model (`cftrain.evaluation.examples`)."""
    from cftrain.evaluation.examples import make_examples

    ds = read_dataset(data)
    model = load_model(model_path)
    peer_models = [load_model(p) for p in peers]
    x, y = tensors(ds, "test")
    # An experiment's one-code-for-all-features constraint (monotone MNIST) holds in its examples
    # too; `protect` alone does not change the examples (poc_protected sets its own codes).
    codes, lower, upper = constraint_tensors(ds, False, override=spec.get("mutability"))
    cs = make_examples(kind, model, peer_models, x, y, ds.n_classes, lower=lower, upper=upper,
                       protected=ds.protected, seed=int(spec["seed"]), mutability=codes)  # fmt: skip
    cs.attrs.update({"dataset": spec["dataset"], "objective": spec["objective"], "seed": int(spec["seed"]),
                     "experiment": spec["experiment"]})  # fmt: skip
    if spec.get("mutability"):
        cs.attrs["mutability"] = spec["mutability"]
    write_counterfactuals(output, cs)


def generative_step(
    spec: dict, settings: dict, data: str, model_path: str, output: str, samples_out: str
) -> None:
    """Generative capacity (cftrain.evaluation.generative): one row per class, samples as HDF5."""
    from cftrain.evaluation.generative import class_samples, score_samples, write_samples

    ds = read_dataset(data)
    model = load_model(model_path)
    x, y = tensors(ds, "test")
    _, lower, upper = constraint_tensors(ds, False)
    start, samples, label = class_samples(
        model, ds.n_classes, lower, upper, n_samples=int(settings["gen_samples"]),
        steps=int(settings["gen_sgld_steps"]), step_size=float(settings["gen_sgld_step"]),
        noise=float(settings["gen_sgld_noise"]), seed=int(settings["seed"]),
    )  # fmt: skip
    table = score_samples(samples, label, x, y, mmd_samples=int(settings["mmd_samples"]),
                          length_scale=float(settings["mmd_length_scale"]), seed=int(settings["seed"]))  # fmt: skip
    write_samples(samples_out, start, samples, label, spec["dataset"], spec["objective"])
    with atomic_path(output) as tmp:
        _tag(table, spec).to_csv(tmp, index=False)
    log.info("generative capacity: mean MMD2 over classes %.4f", float(table["mmd2"].mean()))
