"""The workflow's steps as plain functions; `workflow/scripts/*.py` only call these.

Each step reads its input files, does one meaningful unit of work (prepare one dataset, train one
model, generate one model's test-time counterfactuals, evaluate them) and writes its outputs
atomically. Settings arrive already resolved by `cftrain.config`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from cftrain.categorical import build_projection
from cftrain.config import raw_data_sources
from cftrain.datasets import prepare_dataset, read_dataset, write_dataset
from cftrain.datasets.fetch import fetch_raw
from cftrain.datasets.raw import RAW_FILES
from cftrain.evaluation.protocol import test_time_counterfactuals
from cftrain.io import atomic_path, save_torch_atomic, write_text_atomic
from cftrain.modelio import load_model, save_model
from cftrain.models import build_model
from cftrain.store import read_counterfactuals, write_counterfactuals
from cftrain.training import TrainConfig, train

log = logging.getLogger("cftrain")


@contextlib.contextmanager
def job_logging(path: str | os.PathLike | None, threads: int = 1) -> Iterator[logging.Logger]:
    """Log to `path` (and stderr), pin torch to `threads` threads, log any exception before exiting."""
    torch.set_num_threads(max(int(threads), 1))
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=handlers,
        force=True,
    )
    try:
        yield log
    except BaseException:
        log.exception("job failed")
        raise


def tensors(ds, split: str, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.as_tensor(getattr(ds, f"X_{split}"), dtype=torch.float32, device=device)
    y = torch.as_tensor(getattr(ds, f"y_{split}"), dtype=torch.long, device=device)
    return x, y


def constraint_tensors(ds, protect: bool, device: str = "cpu"):
    """(mutability or None, lower, upper) as tensors; mutability only when the experiment protects."""
    mutability = (
        torch.as_tensor(ds.mutability, dtype=torch.int8, device=device) if protect else None
    )
    lower = torch.as_tensor(ds.lower, dtype=torch.float32, device=device)
    upper = torch.as_tensor(ds.upper, dtype=torch.float32, device=device)
    return mutability, lower, upper


def fetch_raw_step(raw_file: str, config: dict, output: str) -> None:
    """Fetch one raw file into the cache and verify it (cftrain.datasets.fetch)."""
    sources = raw_data_sources(config)
    path = fetch_raw(RAW_FILES[raw_file], Path(output).parent, mirror=sources["mirror"])
    if Path(path).resolve() != Path(output).resolve():
        raise RuntimeError(f"fetched {path}, but the rule expects {output}")
    log.info("raw file %s ready and verified: %s", raw_file, path)


def prepare_data_step(
    dataset: str, params: dict, output: str, raw: list[str] | None = None
) -> None:
    """Prepare one dataset; `raw` is the verified raw file (real datasets), read from its folder."""
    if raw:
        params = {**params, "data_dir": str(Path(raw[0]).parent)}
    ds = prepare_dataset(dataset, **params)
    write_dataset(ds, output)
    log.info(
        "prepared %s: train %s, val %s, test %s",
        dataset,
        ds.X_train.shape,
        ds.X_val.shape,
        ds.X_test.shape,
    )


def train_step(
    spec: dict,
    data: str,
    model_out: str,
    log_out: str,
    config_out: str,
    checkpoint: str,
    vae: str | None = None,
) -> None:
    """Train one model; resumes from `checkpoint` if a previous attempt was killed."""
    cfg = TrainConfig(**spec["train"])
    ds = read_dataset(data)
    arch = {
        "name": spec["model"]["name"],
        "n_features": ds.n_features,
        "n_classes": ds.n_classes,
        "hidden": int(spec["model"]["hidden"]),
    }
    model = build_model(
        arch["name"], arch["n_features"], arch["n_classes"], hidden=arch["hidden"], seed=cfg.seed
    )
    x, y = tensors(ds, "train")
    xv, yv = tensors(ds, "val")
    mutability, lower, upper = constraint_tensors(ds, spec["protect"])
    vae_model = load_vae(vae) if vae else None
    categorical = build_projection(cfg.categorical, ds.feature_names, ds.categorical_groups)

    def progress(row: dict) -> None:
        log.info("epoch %d train_acc %.4f val_acc %.4f mature %.3f steps %.2f skipped %d (%.2fs)", row["epoch"],
                 row["train_accuracy"], row["val_accuracy"], row["mature_share"], row["mean_steps"], row["skipped_steps"],
                 row["seconds"])  # fmt: skip

    model, history = train(
        model, x, y, cfg, x_val=xv, y_val=yv, mutability=mutability, lower=lower, upper=upper,
        vae=vae_model, categorical=categorical, checkpoint=checkpoint, progress=progress,
    )  # fmt: skip
    with atomic_path(log_out) as tmp:
        _tag(history, spec).to_csv(tmp, index=False)
    write_text_atomic(config_out, yaml.safe_dump(spec, sort_keys=True))
    save_model(model_out, model, arch)
    Path(checkpoint).unlink(missing_ok=True)


def load_vae(path: str):
    """A VAE file of `train_vae_step` (state dict + sizes, no pickled objects); errors name the file."""
    from cftrain.vae import VAE

    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"{path}: not a readable cftrain VAE file ({err})") from err
    try:
        vae = VAE(int(blob["n_features"]), int(blob["latent_dim"]), int(blob["hidden"]))
        vae.load_state_dict(blob["state_dict"])
    except (KeyError, TypeError, RuntimeError) as err:
        raise ValueError(f"{path}: not a valid cftrain VAE file ({err})") from err
    return vae.eval()


def train_vae_step(data: str, output: str, params: dict) -> None:
    from cftrain.vae import train_vae

    ds = read_dataset(data)
    x, _ = tensors(ds, "train")
    vae, history = train_vae(x, **params)
    log.info("VAE loss first/last epoch: %.4f / %.4f", history[0], history[-1])
    save_torch_atomic({"n_features": ds.n_features, "latent_dim": vae.latent_dim, "hidden": vae.decoder[0].out_features,
                       "state_dict": vae.state_dict(), "history": history}, output)  # fmt: skip


def counterfactuals_step(
    spec: dict, settings: dict, data: str, model_path: str, outputs: list[str]
) -> None:
    """Test-time counterfactuals of one model, one file per test-time energy weight."""
    ds = read_dataset(data)
    device = spec.get("device", "cpu")
    model = load_model(model_path, device)
    x, y = tensors(ds, "test", device)
    mutability, lower, upper = constraint_tensors(ds, spec["protect"], device)
    mode = settings["categorical"]  # resolved by cftrain.config.evaluation_settings
    categorical = build_projection(mode, ds.feature_names, ds.categorical_groups)
    weights = settings["lambda_energy"]
    if len(weights) != len(outputs):
        raise ValueError(f"{len(outputs)} outputs for {len(weights)} test-time energy weights")
    for index, (lam, out) in enumerate(zip(weights, outputs, strict=True)):
        cs, info = test_time_counterfactuals(
            model, x, y, ds.n_classes, lambda_energy=lam, settings=settings, setting_index=index,
            train_seed=spec["seed"], mutability=mutability, lower=lower, upper=upper, tau=float(settings["tau"]),
            categorical=categorical,
        )  # fmt: skip
        cs.attrs = {
            "generator": "ecco", "dataset": spec["dataset"], "objective": spec["objective"], "seed": int(spec["seed"]),
            "experiment": spec["experiment"], "lambda_energy": float(lam), "lambda_cost": float(settings["lambda_cost"]),
            "step_size": float(settings["step_size"]), "max_iter": int(settings["max_iter"]), "tau": float(settings["tau"]),
            "runs": int(settings["runs"]), "n_individuals": int(settings["n_individuals"]), "dropped_pairs": info["dropped"],
            "categorical": mode,
        }  # fmt: skip
        write_counterfactuals(out, cs)
        log.info(
            "λ_egy=%s: %d counterfactuals, %.1f%% converged",
            lam,
            len(cs),
            100 * cs.converged.mean(),
        )


def decision_surface_step(data: str, model_path: str, output: str, resolution: int = 200) -> None:
    """Class-1 probability on a grid over a 2-D dataset (drawn by figures without the model)."""
    import h5py

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
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("x", data=gx.astype(np.float32))
        f.create_dataset("y", data=gy.astype(np.float32))
        f.create_dataset(
            "probability", data=prob.reshape(resolution, resolution, -1).astype(np.float32)
        )
        f.attrs["format"] = "cftrain.surface/1"


def collect_csv(inputs: list[str], output: str) -> None:
    frames = [pd.read_csv(p) for p in inputs]
    with atomic_path(output) as tmp:
        pd.concat(frames, ignore_index=True).to_csv(tmp, index=False)


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


def _tag(table: pd.DataFrame, spec: dict) -> pd.DataFrame:
    for i, key in enumerate(("experiment", "dataset", "objective", "seed")):
        table.insert(i, key, spec[key])
    return table


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


def examples_step(
    kind: str, spec: dict, data: str, model_path: str, peers: list[str], output: str
) -> None:
    """Counterfactual examples of one kind for one model (`cftrain.evaluation.examples`)."""
    from cftrain.evaluation.examples import make_examples

    ds = read_dataset(data)
    model = load_model(model_path)
    peer_models = [load_model(p) for p in peers]
    x, y = tensors(ds, "test")
    _, lower, upper = constraint_tensors(ds, False)
    cs = make_examples(kind, model, peer_models, x, y, ds.n_classes, lower=lower, upper=upper,
                       protected=ds.protected, seed=int(spec["seed"]))  # fmt: skip
    cs.attrs.update({"dataset": spec["dataset"], "objective": spec["objective"], "seed": int(spec["seed"]),
                     "experiment": spec["experiment"]})  # fmt: skip
    write_counterfactuals(output, cs)


def ig_maps_step(data: str, model_path: str, output: str, seed: int) -> None:
    """Class-averaged IG maps (n_classes, d) for the MNIST IG figure."""
    import h5py

    from cftrain.evaluation.ig_maps import class_ig_maps

    ds = read_dataset(data)
    model = load_model(model_path)
    x, y = tensors(ds, "test")
    maps = class_ig_maps(model, x, y, ds.n_classes, seed=seed).numpy().astype(np.float32)
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("maps", data=maps)
        f.attrs["format"] = "cftrain.igmaps/1"
        f.attrs["dataset"] = ds.name


def table_step(
    name: str, inputs: list[str], datasets: list[str], csv_out: str, tex_out: str
) -> None:
    """Build one paper table from the collected tidy CSVs."""
    from cftrain import tables

    frame = pd.concat([pd.read_csv(p) for p in inputs], ignore_index=True)
    builder = {"main": tables.main_table, "validity": tables.validity_table, "costs": tables.costs_table,
               "ig": tables.ig_table}[name]  # fmt: skip
    tidy, display = builder(frame, datasets)
    tables.write_table(tidy, display, csv_out, tex_out)
