"""Counterfactual generators of method.md §3, one per module, all on `cftrain.search`."""

from cftrain.generators.base import Generator
from cftrain.generators.ecco import ECCo, energy_schedule
from cftrain.generators.generic import Generic
from cftrain.generators.revise import REVISE

__all__ = ["ECCo", "Generator", "Generic", "REVISE", "energy_schedule", "build_generator"]


def build_generator(
    name: str, *, lambda_cost: float = 0.001, lambda_energy: float = 5.0, vae=None
) -> Generator:
    """Build a generator by config name (`generic`, `ecco`, `revise`)."""
    if name == "generic":
        return Generic(lambda_cost=lambda_cost)
    if name == "ecco":
        return ECCo(lambda_cost=lambda_cost, lambda_energy=lambda_energy)
    if name == "revise":
        if vae is None:
            raise ValueError("generator 'revise' needs a trained VAE (results/vae/<dataset>.pt)")
        return REVISE(vae=vae, lambda_cost=lambda_cost)
    raise ValueError(f"unknown generator {name!r}: use one of generic, ecco, revise")
