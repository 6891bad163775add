"""Config checks of the training and test-time generators (`cftrain.validation.check_config`).

A generator is a config object {name, **params} (config/README.md); its names and parameters come
from the generator registry (`cftrain.generators`), so the checks read the registry too.
"""

from __future__ import annotations


def generator_problems(config: dict) -> list[str]:
    """The resolved training and test-time generators of every experiment (and dataset) have only
    their own parameters, and a test-time generator without an energy term gets one sweep value.
    One message per problem, naming the experiments it occurs in. Call on a config without schema
    problems (resolving needs a well-formed config)."""
    from cftrain.config import _layered, deep_merge, experiments
    from cftrain.generators import GENERATORS, generator_class, resolve_params
    from cftrain.validation import _names

    found: dict[str, list[str]] = {}
    for name, exp in experiments(config).items():
        specs = [("training", _layered(config, name, d)[0]["generator"]) for d in exp["datasets"]]
        ev = deep_merge(config["evaluation"], exp.get("evaluation", {}))
        specs.append(("evaluation", ev["generator"]))
        for key, spec in specs:
            try:
                resolve_params(spec)
            except ValueError as err:
                found.setdefault(f"config key '{key}.generator': {err}", []).append(name)
        gen = ev["generator"].get("name")
        if gen not in GENERATORS:
            continue
        has_energy = "lambda_energy" in generator_class(gen).parameters()
        if has_energy and "lambda_energy" in ev["generator"]:
            message = (
                "config key 'evaluation.generator.lambda_energy': set by the test-time sweep "
                "'evaluation.lambda_energy', not here"
            )
            found.setdefault(message, []).append(name)
        elif not has_energy and len(ev["lambda_energy"]) != 1:
            message = (
                f"config key 'evaluation.lambda_energy': test-time generator {gen!r} has no energy "
                f"term, so the sweep must hold exactly one value (got {len(ev['lambda_energy'])})"
            )
            found.setdefault(message, []).append(name)
    return [
        f"{message} (experiments: {_names(dict.fromkeys(names))})"
        for message, names in found.items()
    ]
