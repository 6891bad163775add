"""Generative capacity of a classifier (issue 15; JEM, Grathwohl et al., ICLR 2020, §5): how close
class-conditional samples of its energy E(x, y) = −f(x)[y] (method.md §1) come to the data.

For every class y, `n_samples` chains start from the same seeded draws, uniform in the dataset's
domain box (method.md §4) — the start depends on the seed, the box and the class only, so every
model of a dataset starts from the same points — and run SGLD (cftrain.sgld) on E(·, y). The
samples are scored by MMD² against the real test samples of that class with the IP* estimator and
kernel (`cftrain.metrics.divergence_implausibility`: Gaussian kernel of `mmd_length_scale`, both
sides subsampled to `mmd_samples`); lower = the model's energy describes the class better.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch
from torch import nn

from cftrain.io import atomic_path, check_format, read_hdf5
from cftrain.metrics import divergence_implausibility
from cftrain.sgld import sgld, uniform_in_box

SAMPLES_FORMAT = "cftrain.generative/1"


def class_samples(
    model: nn.Module, n_classes: int, lower: torch.Tensor, upper: torch.Tensor, *,
    n_samples: int, steps: int, step_size: float, noise: float, seed: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """(start, samples, label): `n_samples` SGLD samples per class on E(x, y) = −f(x)[y], each
    (n_classes·n_samples, d) with labels (n_classes·n_samples,), classes in ascending order. Starts
    and SGLD noise come from one generator seeded with `seed`, class by class."""
    gen = torch.Generator().manual_seed(int(seed))
    was_training = model.training
    model.eval()
    starts, samples = [], []
    for cls in range(n_classes):
        start = uniform_in_box(n_samples, lower.float(), upper.float(), gen)
        out = sgld(lambda z, c=cls: -model(z)[:, c], start, steps=steps, step_size=step_size,
                   noise=noise, generator=gen)  # fmt: skip
        starts.append(start)
        samples.append(out)
    model.train(was_training)
    label = torch.arange(n_classes).repeat_interleave(n_samples)
    return torch.cat(starts), torch.cat(samples), label


def score_samples(
    samples: torch.Tensor, label: torch.Tensor, x_ref: torch.Tensor, y_ref: torch.Tensor, *,
    mmd_samples: int, length_scale: float, seed: int,
) -> pd.DataFrame:  # fmt: skip
    """One row per class: `class`, `mmd2` (IP*'s MMD² of the class's samples against the reference
    samples of that class), `finite_share` (share of finite samples; non-finite ones are left out
    of the MMD, a class with fewer than two finite samples scores NaN)."""
    finite = torch.isfinite(samples).all(dim=1)
    rng = np.random.default_rng(int(seed))
    mmd = divergence_implausibility(samples[finite], label[finite], x_ref, y_ref,
                                    n_samples=mmd_samples, length_scale=length_scale, generator=rng)  # fmt: skip
    rows = []
    for cls in torch.unique(label).tolist():
        in_cls = label == cls
        rows.append({"class": int(cls), "mmd2": mmd.get(int(cls), float("nan")),
                     "finite_share": float(finite[in_cls].float().mean())})  # fmt: skip
    return pd.DataFrame(rows)


def write_samples(path: str | Path, start, samples, label, dataset: str, objective: str) -> None:
    """A `cftrain.generative/1` file: `start`, `sample` (n, d) float32, `label` (n,) int64."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("start", data=np.asarray(start, dtype=np.float32))
        f.create_dataset("sample", data=np.asarray(samples, dtype=np.float32))
        f.create_dataset("label", data=np.asarray(label, dtype=np.int64))
        f.attrs.update({"format": SAMPLES_FORMAT, "dataset": dataset, "objective": objective})


def read_samples(path: str | Path) -> dict:
    """{start, sample, label, dataset, objective} of a `cftrain.generative/1` file, validated."""

    def read(path, f):
        check_format(path, f, SAMPLES_FORMAT)
        out = {k: f[k][()] for k in ("start", "sample", "label")}
        return {**out, "dataset": str(f.attrs["dataset"]), "objective": str(f.attrs["objective"])}

    return read_hdf5(path, "generative-samples", read)
