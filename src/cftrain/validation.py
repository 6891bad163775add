"""Config validation before any job starts: every problem, each naming its key path.

Snakemake's `validate()` stops at the first JSON-Schema error and prints the schema internals.
`check_config` runs the same schema (Draft 2020-12), collects all errors, rewrites each as
`config key 'training.epochs': -3 is less than the minimum of 1`, and adds the checks the schema
cannot express: experiment datasets need a `datasets:` entry, experiment override sections may only
hold keys of the section they override, every resolved generator has only its own parameters, and
a test-time generator without an energy term gets exactly one `evaluation.lambda_energy` value.
The schema's name lists (datasets, objectives, generators and each generator's parameters) are
filled in from the registries (`registry_schema`), so the static YAML schema types no names. A missing raw-data folder is no error: the workflow
fetches missing raw files (cftrain.datasets.fetch). Config keys
that become path components (experiment and dataset names) are restricted to `^[a-z][a-z0-9_]*$`
by the schema, so no output path can leave `results/`.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import jsonschema
import yaml

from cftrain.experiments import repeat_problems
from cftrain.objective import OBJECTIVES

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
# Keys of a `datasets:` entry that the training resolution reads (cftrain.config._layered), so an
# experiment's `training`/`dataset_training` override may set them too.
DATASET_TRAINING_KEYS = ("batch_size", "n_ce", "tau", "lambda_reg")
_PLAIN = (dict, list, str, int, float, bool, type(None))


class ConfigError(ValueError):
    """The workflow config is invalid; the message lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid config ({len(self.problems)} problem(s)):\n{lines}")


def load_schema(path: str | os.PathLike | None = None) -> dict:
    with open(path or SCHEMA) as f:
        return yaml.safe_load(f)


_PARAMETER_TYPES = {
    float: {"type": "number", "minimum": 0},  # generator weights are non-negative
    int: {"type": "integer"},
    bool: {"type": "boolean"},
    str: {"type": "string"},
}


def _parameter_schema(field) -> dict:
    """JSON schema of one generator parameter: `metadata["schema"]`, else by its type."""
    if "schema" in field.metadata:
        return dict(field.metadata["schema"])
    kind = {"float": float, "int": int, "bool": bool, "str": str}.get(field.type, field.type)
    return dict(_PARAMETER_TYPES.get(kind, {}))


def registry_schema(schema: dict) -> dict:
    """A copy of `schema` with the names filled in from the registries: dataset names, objective
    pattern, generator names and, per generator, the parameters it accepts."""
    from cftrain.baselines import objective_parameters
    from cftrain.datasets.registry import DATASETS
    from cftrain.generators import GENERATORS
    from cftrain.workflow import objective_pattern

    schema = copy.deepcopy(schema)
    defs = schema["$defs"]
    defs["dataset_name"]["enum"] = list(DATASETS)
    defs["generator_name"]["enum"] = list(GENERATORS)
    defs["objective"]["pattern"] = f"^{objective_pattern()}$"
    defs["objective"]["description"] = (
        f"an objective ({', '.join(OBJECTIVES)}), optionally suffixed -<generator> "
        f"({', '.join(GENERATORS)}), the training generator"
    )
    defs["generator"]["allOf"] = [
        {
            "if": {"required": ["name"], "properties": {"name": {"const": name}}},
            "then": {
                "properties": {
                    "name": {},
                    **{k: _parameter_schema(f) for k, f in cls.parameters().items()},
                },
                "additionalProperties": False,
            },
        }
        for name, cls in GENERATORS.items()
    ]
    # training.objective_params.<objective>: parameters of the objectives with a batch loss.
    schema["properties"]["training"]["properties"]["objective_params"].update(additionalProperties=False, properties={
        name: {"type": "object", "additionalProperties": False,
               "properties": {k: _parameter_schema(f) for k, f in fields.items()}}
        for name, fields in objective_parameters().items()
    })  # fmt: skip
    return schema


def key_path(parts) -> str:
    """('experiments', 'main', 'datasets', 0) → 'experiments.main.datasets[0]'; odd names quoted."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            out += f"[{str(part)!r}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _names(values) -> str:
    return ", ".join(str(v) for v in values)


def _describe(error: jsonschema.ValidationError, prefix: tuple = ()) -> list[str]:
    """One message per schema error, naming the key path and the allowed values."""
    path = key_path((*prefix, *error.absolute_path))
    where = f"config key '{path}'" if path else "config"
    if "propertyNames" in error.absolute_schema_path:
        # The offending key itself is the instance; the error's path is its parent mapping.
        name = error.instance
        full = key_path((*prefix, *error.absolute_path, name))
        if error.validator == "enum":
            return [f"unknown key '{full}' (allowed: {_names(error.validator_value)})"]
        if error.validator == "pattern":
            return [f"invalid name '{full}': {name!r} must match {error.validator_value}"]
        return [f"invalid name '{full}': {error.message}"]
    if error.validator == "additionalProperties" and error.validator_value is False:
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return [
            f"unknown key '{key_path((*prefix, *error.absolute_path, k))}' (allowed: {_names(allowed)})"
            for k in extra
        ]
    if error.validator == "enum":
        return [f"{where}: {error.instance!r} is not one of [{_names(error.validator_value)}]"]
    if error.validator == "pattern" and "description" in error.schema:
        return [f"{where}: {error.instance!r} is not valid: {error.schema['description']}"]
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return [f"{where}: required key '{k}' is missing" for k in missing]
    return [f"{where}: {error.message}"]


def schema_problems(config: dict, schema: dict, prefix: tuple = ()) -> list[str]:
    """Every violation of `schema` (Draft 2020-12), in a stable order, as messages."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(config),
        key=lambda e: (key_path(e.absolute_path), list(map(str, e.absolute_schema_path))),
    )
    out: list[str] = []
    for error in errors:
        for message in _describe(error, prefix):
            if message not in out:
                out.append(message)
    # A bad key failing both the safe-name pattern and the list of names: keep the list.
    unknown = {m.split("'")[1] for m in out if m.startswith("unknown key '")}
    return [m for m in out if not (m.startswith("invalid name '") and m.split("'")[1] in unknown)]


def _partial(schema: dict, section: dict) -> dict:
    """`section` of `schema` with no required keys and no defaults: an override may set any subset."""
    sub = {k: v for k, v in copy.deepcopy(section).items() if k not in ("required", "default")}
    for prop in sub.get("properties", {}).values():
        prop.pop("default", None)
        prop.pop("required", None)  # a generator override may leave out its name (same generator)
    return {"$schema": schema.get("$schema"), "$defs": schema.get("$defs", {}), **sub}


def override_schemas(schema: dict) -> dict[str, dict]:
    """Schemas of an experiment's override sections, derived from the top-level sections."""
    props = schema["properties"]
    training = _partial(schema, props["training"])
    dataset_entry = props["datasets"]["additionalProperties"]["properties"]
    for key in DATASET_TRAINING_KEYS:
        training["properties"].setdefault(key, copy.deepcopy(dataset_entry[key]))
    per_dataset = {
        "$schema": schema.get("$schema"),
        "$defs": schema.get("$defs", {}),
        "type": "object",
        "propertyNames": props["datasets"]["propertyNames"],
        "additionalProperties": {
            k: v for k, v in training.items() if k not in ("$schema", "$defs")
        },
    }
    return {
        "training": training,
        "model": _partial(schema, props["model"]),
        "evaluation": _partial(schema, props["evaluation"]),
        "dataset_training": per_dataset,
    }


def _non_plain(value, parts=()) -> list[str]:
    """Values YAML's full loader can build but a config must not hold (tuples, objects, ...)."""
    if not isinstance(value, _PLAIN):
        return [f"config key '{key_path(parts)}': {type(value).__name__} is not a plain YAML value"]
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                out.append(f"config key '{key_path((*parts, str(k)))}': key {k!r} is not a string")
            out += _non_plain(v, (*parts, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _non_plain(v, (*parts, i))
    return out


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def cross_field_problems(config: dict, schema: dict) -> list[str]:
    """Checks across keys; tolerant of a config that also has schema errors."""
    problems = []
    configured = list(_mapping(config.get("datasets")))
    known = set(schema["$defs"]["dataset_name"]["enum"])
    overrides = override_schemas(schema)
    for name, exp in _mapping(config.get("experiments")).items():
        exp = _mapping(exp)
        datasets = exp.get("datasets") if isinstance(exp.get("datasets"), list) else []
        for i, dataset in enumerate(datasets):
            if not isinstance(dataset, str):
                continue  # a schema error already
            if dataset in known and dataset not in configured:
                problems.append(
                    f"config key 'experiments.{name}.datasets[{i}]': {dataset!r} has no entry in "
                    f"'datasets' (configured: {_names(configured)})"
                )
        for section, sub in overrides.items():
            if section in exp:
                problems += schema_problems(exp[section], sub, ("experiments", name, section))
        if "repeats" in exp:
            problems += repeat_problems(config, name, exp)
    return problems


def check_config(config: dict, schema: str | os.PathLike | dict | None = None) -> dict:
    """Validate `config`; raise one ConfigError listing every problem, else return `config`.

    `schema` is the schema file (default: workflow/schemas/config.schema.yaml of this repository)
    or an already loaded schema.
    """
    schema = registry_schema(schema if isinstance(schema, dict) else load_schema(schema))
    if not isinstance(config, dict):
        raise ConfigError([f"config must be a mapping, got {type(config).__name__}"])
    problems = _non_plain(config)
    if not problems:  # the schema validator assumes plain values
        problems = schema_problems(config, schema) + cross_field_problems(config, schema)
        if not problems:  # resolving needs a well-formed config
            from cftrain.generator_checks import generator_problems

            problems = generator_problems(config)
    if problems:
        raise ConfigError(problems)
    return config
