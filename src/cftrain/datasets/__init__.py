"""Datasets of method.md §4: preparation, storage and reading of train/validation/test splits."""

from cftrain.datasets.container import DatasetSplits, read_dataset, write_dataset
from cftrain.datasets.registry import DATASETS, prepare_dataset

__all__ = ["DATASETS", "DatasetSplits", "prepare_dataset", "read_dataset", "write_dataset"]
