"""Changing one setting re-runs only the jobs that read it (issue 14, item 4).

After the quick run, a `--configfile` overlay changes a single key and `snakemake -n` must schedule
exactly the rules that read it and what consumes their outputs: each rule's params hold only its
step's settings (`cftrain.config` stage settings), and performance is scored apart from the
counterfactual metrics. Dry runs in a copy of the finished run, so nothing is recomputed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import QUICK
from helpers import REPO, run_snakemake

from cftrain.config import attack_settings, deep_merge, load_config, run_spec, targets
from cftrain.workflow import FIGURES, TABLES, figure_wanted, per_model, table_inputs, table_wanted

pytestmark = pytest.mark.slow

QUICK_CONFIG = load_config(REPO / "config/config.yaml", REPO / "config/quick.yaml")


@pytest.fixture(scope="module")
def finished_run(quick_run, tmp_path_factory) -> Path:
    """A copy of the session's quick run (outputs, mtimes and Snakemake's metadata kept)."""
    work = tmp_path_factory.mktemp("rerun") / "run"
    shutil.copytree(quick_run, work, symlinks=True)
    return work


def job_stats(work: Path, overlay: dict | None = None) -> dict[str, int]:
    """Rule → job count that `snakemake -n` schedules with the quick config plus `overlay`."""
    args = list(QUICK)
    if overlay is not None:
        path = work / "overlay.yaml"
        path.write_text(yaml.safe_dump(overlay))
        args.append(str(path))
    proc = run_snakemake(work, *args, "-n")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:", 1)[1]
    stats = {}
    for rule, count in re.findall(r"^(\w+)\s+(\d+)\s*$", table, re.MULTILINE):
        if rule == "total":
            break
        stats[rule] = int(count)
    assert stats, out[-3000:]
    return stats


def test_finished_run_is_up_to_date(finished_run):
    assert job_stats(finished_run) == {}


def test_ig_steps_reruns_only_attributions(finished_run):
    stats = job_stats(finished_run, {"evaluation": {"ig_steps": 11}})
    # attributions, the collected ig_rounds table, the paper table built from it, the target.
    assert stats == {
        "attributions": len(per_model(QUICK_CONFIG, "ig_rounds")),
        "collect": 1,
        "table": 1,
        "all": 1,
    }


def test_pgd_steps_reruns_only_robustness(finished_run):
    stats = job_stats(finished_run, {"evaluation": {"pgd_steps": 6}})
    attacked = [
        t for t in targets(QUICK_CONFIG) if attack_settings(QUICK_CONFIG, *t[:2])["robustness"]
    ]
    assert attacked  # the quick config's ablation experiment attacks
    # performance of the runs that attack, the collected performance table, what is drawn or built
    # from it (Fig. 4, the baselines figure and table).
    assert stats == {"performance": len(attacked), "collect": 1, **reading("performance"), "all": 1}


def reading(collected: str, kind: str | None = None) -> dict[str, int]:
    """Figure and table jobs of the quick config that read a collected table (or a per-model
    input `kind`), as `snakemake -n` counts them."""
    out = {
        f"figure_{name}": 1
        for name, spec in FIGURES.items()
        if figure_wanted(QUICK_CONFIG, name)
        and (f"table/{collected}" in spec["inputs"] or kind in spec["inputs"])
    }
    tables = [
        name
        for name in TABLES
        if table_wanted(QUICK_CONFIG, name)
        and any(p.endswith(f"/{collected}.csv") for p in table_inputs(QUICK_CONFIG, name))
    ]
    return {**out, **({"table": len(tables)} if tables else {})}


def test_gen_sgld_steps_reruns_only_generative(finished_run):
    stats = job_stats(finished_run, {"evaluation": {"gen_sgld_steps": 3}})
    runs = per_model(QUICK_CONFIG, "generative")
    assert runs  # the quick config's baselines experiment scores generative capacity
    expected = {
        "generative": len(runs),
        "collect": 1,
        **reading("generative", "generative_samples"),
    }
    assert stats == {**expected, "all": 1}
    assert "figure_baselines_samples" in stats and stats["table"] == 1


def test_jem_setting_retrains_only_jem(finished_run):
    stats = job_stats(finished_run, {"training": {"objective_params": {"jem": {"sgld_steps": 3}}}})
    jem = [t for t in targets(QUICK_CONFIG) if t[2] == "jem"]
    assert jem and stats["train"] == len(jem) and stats["generative"] == len(jem)


def test_epochs_reruns_everything_downstream_of_training(finished_run):
    overlay = {"training": {"epochs": 6}}
    stats = job_stats(finished_run, overlay)
    changed = deep_merge(QUICK_CONFIG, overlay)
    retrained = [
        t for t in targets(QUICK_CONFIG) if run_spec(QUICK_CONFIG, *t) != run_spec(changed, *t)
    ]
    # Experiments that set their own epochs (poc) keep their models, and so their figures.
    untouched = {t[0] for t in targets(QUICK_CONFIG)} - {t[0] for t in retrained}
    figures = {
        f"figure_{name}"
        for name in FIGURES
        if figure_wanted(QUICK_CONFIG, name) and FIGURES[name]["experiment"] not in untouched
    }
    downstream = {"train", "counterfactuals", "evaluate", "performance", "attributions",
                  "decision_surface", "ig_maps", "examples", "collect", "table", "generative", "all"}  # fmt: skip
    assert set(stats) == downstream | figures
    assert not {"prepare_data", "train_vae", "fetch_raw"} & set(stats)
    assert stats["train"] == stats["counterfactuals"] == stats["evaluate"] == len(retrained)
    # Replicates (issue 16) are scored but get no performance jobs: count the performance files.
    stems = {f"/{e}/{d}/{o}/seed{s}/" for e, d, o, s in retrained}
    performance = [p for p in per_model(QUICK_CONFIG, "performance") if any(t in p for t in stems)]
    assert 0 < stats["performance"] == len(performance) < len(retrained)
