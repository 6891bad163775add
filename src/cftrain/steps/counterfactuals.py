"""Step of workflow/rules/counterfactuals.smk: one model's test-time counterfactuals (method.md §6.1)."""

from __future__ import annotations

from cftrain.categorical import build_projection
from cftrain.datasets import read_dataset
from cftrain.evaluation.protocol import test_time_counterfactuals
from cftrain.modelio import load_model
from cftrain.steps.common import constraint_tensors, log, tensors
from cftrain.store import write_counterfactuals


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
