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
from cftrain.workflow import FIGURES, figure_wanted, per_model

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
    # performance of the runs that attack, the collected performance table, the figure drawn from it.
    assert stats == {"performance": len(attacked), "collect": 1, "figure_robustness": 1, "all": 1}


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
                  "decision_surface", "ig_maps", "examples", "collect", "table", "all"}  # fmt: skip
    assert set(stats) == downstream | figures
    assert not {"prepare_data", "train_vae", "fetch_raw"} & set(stats)
    assert stats["train"] == stats["counterfactuals"] == stats["evaluate"] == len(retrained)
    assert stats["performance"] == len(retrained)
