"""Generative capacity (issue 15, cftrain.evaluation.generative)."""

import pandas as pd
import torch

from cftrain.datasets import prepare_dataset
from cftrain.evaluation.generative import class_samples, read_samples, score_samples, write_samples
from cftrain.models import build_model
from cftrain.sgld import uniform_in_box
from cftrain.training import TrainConfig, train


def _setup():
    ds = prepare_dataset("moons", seed=42)
    t = torch.as_tensor
    x, y = t(ds.X_train), t(ds.y_train)
    model = train(
        build_model("mlp", 2, 2, seed=1), x, y, TrainConfig(objective="vanilla", epochs=5, seed=1)
    )[0]
    return ds, model, t(ds.X_test), t(ds.y_test), t(ds.lower), t(ds.upper)


def test_real_samples_score_lower_than_uniform_noise():
    ds, model, x_test, y_test, lower, upper = _setup()
    n = 100
    x_train, y_train = torch.as_tensor(ds.X_train), torch.as_tensor(ds.y_train)
    real = torch.cat([x_train[y_train == k][:n] for k in (0, 1)])
    label = torch.arange(2).repeat_interleave(n)
    noise = uniform_in_box(2 * n, lower, upper, torch.Generator().manual_seed(0))
    kw = dict(mmd_samples=100, length_scale=5.0, seed=3)  # IP*: evaluation.mmd_length_scale
    real_score = score_samples(real, label, x_test, y_test, **kw)
    noise_score = score_samples(noise, label, x_test, y_test, **kw)
    assert (real_score["mmd2"] < noise_score["mmd2"]).all()
    assert (real_score["finite_share"] == 1.0).all() and list(real_score["class"]) == [0, 1]
    # The trained model's SGLD samples are scored by the same rule: finite, one row per class.
    start, samples, lab = class_samples(model, 2, lower, upper, n_samples=n, steps=20, step_size=1.0,
                                        noise=0.01, seed=5)  # fmt: skip
    model_score = score_samples(samples, lab, x_test, y_test, **kw)
    assert model_score["mmd2"].notna().all() and (model_score["mmd2"] >= 0).all()


def test_start_is_the_same_for_every_model_and_samples_round_trip(tmp_path):
    ds, model, _, _, lower, upper = _setup()
    other = build_model("mlp", 2, 2, seed=9)
    kw = dict(n_samples=20, steps=3, step_size=1.0, noise=0.01, seed=7)
    start_a, samples_a, label = class_samples(model, 2, lower, upper, **kw)
    start_b, samples_b, _ = class_samples(other, 2, lower, upper, **kw)
    assert torch.equal(start_a, start_b) and not torch.equal(samples_a, samples_b)
    assert ((start_a >= lower) & (start_a <= upper)).all()
    assert torch.equal(class_samples(model, 2, lower, upper, **kw)[1], samples_a)  # seeded
    path = tmp_path / "s.h5"
    write_samples(path, start_a, samples_a, label, "moons", "vanilla")
    back = read_samples(path)
    assert back["sample"].shape == (40, 2) and back["objective"] == "vanilla"
    assert pd.Series(back["label"]).value_counts().to_dict() == {0: 20, 1: 20}
