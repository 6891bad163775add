"""Test-time counterfactual protocol of method.md §6.1 (CE.jl `benchmark`).

Per evaluation setting (one test-time λ_egy): factual/target class pairs are drawn once, then per
bootstrap run each pair gets a test sample that the model predicts as the factual class (with
replacement). The draws use generators seeded from (evaluation seed, training seed, setting) only,
never from the model, so vanilla and CT models are evaluated on identical pairs (and on the same
uniform draws mapped to their own candidate sets). All runs are searched as one batch with the
test-time generator (`evaluation.generator`, default ECCo with λ_cost 0; η 0.1, T 50, τ_eval), with
the categorical groups projected as the original's test-time searches did (`settings["categorical"]`,
method.md §10.17; ties drawn from the setting's seed).

The test-time settings sweep `evaluation.lambda_energy`: a generator with an energy term
(`lambda_energy` parameter, ECCo) gets each value in turn; a generator without one (Generic, REVISE,
Wachter) would repeat the same search, so the config must then hold exactly one value
(cftrain.validation), which only names the setting (file tag `egy<value>`, table column).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cftrain.categorical import CategoricalProjection
from cftrain.generators import Generator, build_generator, generator_class, split_spec
from cftrain.search import search_counterfactuals
from cftrain.store import CounterfactualSet


def test_time_generator(spec: dict | str, lambda_energy: float, vae=None) -> Generator:
    """The generator of one test-time setting: `spec` ({name, **params}) with the setting's energy
    weight when the generator has an energy term (module docstring)."""
    name, params = split_spec(spec)
    if "lambda_energy" in generator_class(name).parameters():
        params["lambda_energy"] = float(lambda_energy)
    return build_generator({"name": name, **params}, vae=vae)


def setting_seed(eval_seed: int, train_seed: int, setting_index: int) -> int:
    return int(eval_seed) * 1_000_003 + int(train_seed) * 101 + int(setting_index)


def draw_pairs(
    n_classes: int, n_individuals: int, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(factual class, target class) pairs, uniform over ordered pairs with target ≠ factual."""
    factual = gen.integers(0, n_classes, n_individuals)
    shift = gen.integers(0, n_classes - 1, n_individuals)
    target = shift + (shift >= factual)
    return factual.astype(np.int64), target.astype(np.int64)


def draw_individuals(
    predicted: np.ndarray, factual_class: np.ndarray, runs: int, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per run and pair, a test index predicted as the factual class. Returns (index (runs, n),
    ok (runs, n) bool): `ok` is False where the model predicts no test sample as that class."""
    n_classes = int(max(predicted.max(initial=0), factual_class.max(initial=0))) + 1
    order = np.argsort(predicted, kind="stable")
    counts = np.bincount(predicted, minlength=n_classes)
    offsets = np.cumsum(counts) - counts
    u = gen.random((runs, factual_class.shape[0]))
    c = counts[factual_class][None, :]
    pick = np.minimum((u * c).astype(np.int64), np.maximum(c - 1, 0))
    ok = np.broadcast_to(c > 0, pick.shape)
    if len(order) == 0:  # an empty test set: nothing to draw from
        return np.full(pick.shape, -1, dtype=np.int64), np.zeros(pick.shape, dtype=bool)
    index = np.where(
        ok, order[np.minimum(offsets[factual_class][None, :] + pick, len(order) - 1)], -1
    )
    return index, ok.copy()


def test_time_counterfactuals(
    model: nn.Module,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    n_classes: int,
    *,
    generator: Generator,
    settings: dict,
    setting_index: int,
    train_seed: int,
    mutability: torch.Tensor | None,
    lower: torch.Tensor | None,
    upper: torch.Tensor | None,
    tau: float,
    categorical: CategoricalProjection | None = None,
) -> tuple[CounterfactualSet, dict]:
    """Generate the test-time counterfactuals of one setting for one model (all runs batched)."""
    seed = setting_seed(settings["seed"], train_seed, setting_index)
    gen = np.random.default_rng(seed)
    factual_class, target_class = draw_pairs(n_classes, int(settings["n_individuals"]), gen)
    model.eval()
    with torch.no_grad():
        predicted = model(x_test).argmax(dim=1).cpu().numpy()
    runs = int(settings["runs"])
    index, ok = draw_individuals(predicted, factual_class, runs, gen)
    run = np.repeat(np.arange(runs, dtype=np.int32), factual_class.shape[0])
    pair = np.tile(np.arange(factual_class.shape[0], dtype=np.int32), runs)
    keep = ok.reshape(-1)
    flat = index.reshape(-1)[keep]
    target = np.tile(target_class, runs)[keep]
    factual = x_test[torch.as_tensor(flat, device=x_test.device)]
    result = search_counterfactuals(
        model, factual, torch.as_tensor(target, device=x_test.device), generator,
        step_size=float(settings["step_size"]), max_iter=int(settings["max_iter"]), tau=tau,
        mutability=mutability, lower=lower, upper=upper, categorical=categorical,
        rng=torch.Generator().manual_seed(seed) if categorical or generator.latent else None,
    )  # fmt: skip
    with torch.no_grad():
        predicted_cf = model(result.counterfactual).argmax(dim=1).cpu().numpy()
    cs = CounterfactualSet(
        factual=result.factual.cpu().numpy(),
        counterfactual=result.counterfactual.cpu().numpy(),
        target=target,
        factual_label=y_test.cpu().numpy()[flat],  # the factual's true label
        converged=result.converged.cpu().numpy(),
        steps=result.steps.cpu().numpy(),
        extra={
            "run": run[keep],
            "pair": pair[keep],
            "test_index": flat.astype(np.int64),
            "predicted": predicted_cf.astype(np.int64),
        },
    )
    info = {"pairs": int(factual_class.shape[0]), "dropped": int((~keep).sum())}
    return cs, info
