"""Cluster resource sizing (cftrain.resources)."""

import pytest

from cftrain.resources import device_resources, grow, partition_for, scaled


def test_scaled_grows_and_caps():
    assert [scaled(4000, a) for a in (1, 2, 3)] == [4000, 8000, 16000]
    assert scaled(240, 5, cap=2880) == 2880
    with pytest.raises(ValueError, match="attempt"):
        scaled(1, 0)
    assert grow(30)(None, attempt=2) == 60


def test_device_and_partition():
    assert device_resources("cpu") == {}
    assert device_resources("cuda") == {"slurm_partition": "gpu-a100", "gpu": 1}
    assert partition_for("mnist") == "memory" and partition_for("moons") == "compute"
