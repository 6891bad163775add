"""Step of workflow/rules/counterfactuals.smk: one model's test-time counterfactuals (method.md §6.1)."""

from __future__ import annotations

from cftrain.categorical import build_projection
from cftrain.datasets import read_dataset
from cftrain.evaluation.protocol import test_time_counterfactuals, test_time_generator
from cftrain.modelio import load_model
from cftrain.steps.common import constraint_tensors, log, tensors
from cftrain.steps.train import load_vae
from cftrain.store import write_counterfactuals


def counterfactuals_step(
    spec: dict,
    settings: dict,
    data: str,
    model_path: str,
    outputs: list[str],
    vae: str | None = None,
) -> None:
    """Test-time counterfactuals of one model, one file per test-time energy weight, searched with
    `settings["generator"]` (a VAE file for a generator that needs one)."""
    ds = read_dataset(data)
    device = spec.get("device", "cpu")
    model = load_model(model_path, device)
    x, y = tensors(ds, "test", device)
    mutability, lower, upper = constraint_tensors(
        ds, spec["protect"], device, override=spec.get("mutability")
    )
    mode = settings["categorical"]  # resolved by cftrain.config.evaluation_settings
    categorical = build_projection(mode, ds.feature_names, ds.categorical_groups)
    weights = settings["lambda_energy"]
    vae_model = load_vae(vae) if vae else None
    if len(weights) != len(outputs):
        raise ValueError(f"{len(outputs)} outputs for {len(weights)} test-time energy weights")
    for index, (lam, out) in enumerate(zip(weights, outputs, strict=True)):
        generator = test_time_generator(settings["generator"], lam, vae=vae_model)
        cs, info = test_time_counterfactuals(
            model, x, y, ds.n_classes, generator=generator, settings=settings, setting_index=index,
            train_seed=spec["seed"], mutability=mutability, lower=lower, upper=upper, tau=float(settings["tau"]),
            categorical=categorical,
        )  # fmt: skip
        cs.attrs = {
            "generator": generator.name, **generator.params(), "dataset": spec["dataset"],
            "objective": spec["objective"], "seed": int(spec["seed"]), "experiment": spec["experiment"],
            "lambda_energy": float(lam),
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
