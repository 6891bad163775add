"""Cluster resource sizing (cftrain.resources) and how the DelftBlue profile maps needs to partitions."""

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from cftrain.resources import SIZE_CLASSES, device_resources, grow, scaled, size_class

PROFILE = Path(__file__).resolve().parents[1] / "profiles" / "delftblue"


def test_scaled_grows_and_caps():
    assert [scaled(4000, a) for a in (1, 2, 3)] == [4000, 8000, 16000]
    assert scaled(240, 5, cap=2880) == 2880
    with pytest.raises(ValueError, match="attempt"):
        scaled(1, 0)
    assert grow(30)(None, attempt=2) == 60


def test_needs_name_no_partition():
    assert device_resources("cpu") == {}
    assert device_resources("cuda") == {"gpu": 1}
    assert size_class("mnist") == "large" and size_class("moons") == "standard"
    assert {size_class(d) for d in ("mnist", "moons", "adult")} == set(SIZE_CLASSES)


def test_delftblue_profile_maps_needs_to_partitions():
    """Grouped search/evaluation rules get their partition from the size class of their dataset
    (set-resources, evaluated as Snakemake does: a Python expression over `wildcards`); every other
    job gets the plugin's best fit from the profile's partition table: GPU jobs `gpu-a100`, CPU
    jobs `compute`."""
    plugin = pytest.importorskip("snakemake_executor_plugin_slurm.partitions")
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    assert "slurm_partition" not in profile["default-resources"]
    assert set(profile["set-resources"]) == set(profile["groups"])
    for rule, resources in profile["set-resources"].items():
        for dataset, partition in (("mnist", "memory"), ("moons", "compute"), ("gmsc", "compute")):
            wildcards = SimpleNamespace(dataset=dataset)
            got = eval(resources["slurm_partition"], {"wildcards": wildcards, "attempt": 1})
            assert got == partition, (rule, dataset)

    partitions = plugin.read_partition_file(PROFILE / profile["slurm-partition-config"])
    log = logging.getLogger("test")

    def best(device: str, **resources) -> str:
        job = SimpleNamespace(
            resources={**resources, **device_resources(device)}, threads=1, name="j"
        )
        return plugin.get_best_partition(partitions, job, log)

    assert best("cuda", mem_mb=8000, runtime=240) == "gpu-a100"
    assert best("cpu", mem_mb=8000, runtime=240) == "compute"
    assert best("cpu", mem_mb=4000, runtime=60 * 100) == "compute"
