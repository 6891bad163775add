"""Steps of workflow/rules/train.smk and vae.smk: train one model (method.md §2), train a VAE."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml

from cftrain.categorical import build_projection
from cftrain.datasets import read_dataset
from cftrain.io import atomic_path, save_torch_atomic, write_text_atomic
from cftrain.modelio import save_model
from cftrain.models import build_model
from cftrain.steps.common import _tag, constraint_tensors, log, tensors
from cftrain.training import TrainConfig, train


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
    mutability, lower, upper = constraint_tensors(
        ds, spec["protect"], override=spec.get("mutability")
    )
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
