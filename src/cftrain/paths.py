"""Every output path of the workflow, defined once (method.md §9: file names are an interface).

The `.smk` rules (via workflow/rules/common.smk) and the target functions of `cftrain.workflow`
both build their paths from these patterns, so a rule's output and the file a table, figure or
target list asks for cannot drift apart. Patterns keep Snakemake's `{wildcard}` syntax; fill one
with `str.format` (or `run_file` for the per-run ones).
"""

from __future__ import annotations

RESULTS = "results"
#: One trained model's folder name below each per-run stage (the only place it is spelled).
RUN = "{experiment}/{dataset}/{objective}/seed{seed}"

DATA = f"{RESULTS}/data/{{dataset}}.h5"
#: A synthetic dataset drawn with another data-generation seed (replicates, cftrain.experiments).
DATA_SEEDED = f"{RESULTS}/data/dataseed{{data_seed}}/{{dataset}}.h5"
VAE = f"{RESULTS}/vae/{{dataset}}.pt"

MODEL_DIR = f"{RESULTS}/models/{RUN}"
MODEL = f"{MODEL_DIR}/model.pt"
TRAINING_LOG = f"{MODEL_DIR}/training_log.csv"
MODEL_CONFIG = f"{MODEL_DIR}/config.yaml"
CHECKPOINT = f"{MODEL_DIR}/checkpoint.pt"

#: One file per test-time energy weight; `tag` is `cftrain.config.energy_tag(λ_egy)`.
COUNTERFACTUALS = f"{RESULTS}/counterfactuals/{RUN}/{{tag}}.h5"

EVALUATION_DIR = f"{RESULTS}/evaluation/{RUN}"
COUNTERFACTUAL_METRICS = f"{EVALUATION_DIR}/counterfactual_metrics.csv"
PERFORMANCE = f"{EVALUATION_DIR}/performance.csv"
IG = f"{EVALUATION_DIR}/ig.csv"
DECISION_SURFACE = f"{EVALUATION_DIR}/decision_surface.h5"
IG_MAPS = f"{EVALUATION_DIR}/ig_maps.h5"
GENERATIVE = f"{EVALUATION_DIR}/generative.csv"
GENERATIVE_SAMPLES = f"{EVALUATION_DIR}/generative_samples.h5"

EXAMPLES = f"{RESULTS}/examples/{RUN}/{{kind}}.h5"

#: Tidy collected tables and paper tables share a folder; `name` is the table's name.
TABLE_CSV = f"{RESULTS}/tables/{{name}}.csv"
TABLE_TEX = f"{RESULTS}/tables/{{name}}.tex"
FIGURE_PNG = f"{RESULTS}/figures/{{name}}.png"
FIGURE_PDF = f"{RESULTS}/figures/{{name}}.pdf"

LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"


def log(rule: str, stem: str = RUN) -> str:
    """The log file of one job of `rule`: results/logs/<rule>/<stem>.log."""
    return f"{LOGS}/{rule}/{stem}.log"


def benchmark(rule: str, stem: str = RUN) -> str:
    """The benchmark (time and memory) file of one job of `rule`."""
    return f"{BENCHMARKS}/{rule}/{stem}.tsv"


def run_file(pattern: str, experiment: str, dataset: str, objective: str, seed, **more) -> str:
    """A per-run pattern filled for one model (`more`: its other wildcards, e.g. tag or kind)."""
    return pattern.format(
        experiment=experiment, dataset=dataset, objective=objective, seed=seed, **more
    )


def named(pattern: str, wildcard: str) -> str:
    """A table/figure pattern with its `{name}` turned into the rule's own wildcard."""
    return pattern.replace("{name}", "{" + wildcard + "}")
