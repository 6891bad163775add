"""Datasets of method.md §4: preparation, storage and reading of train/validation/test splits."""

from cftrain.datasets.container import DatasetSplits, read_dataset, write_dataset
from cftrain.datasets.fetch import fetch_raw
from cftrain.datasets.raw import RAW_SOURCES, RawDataError
from cftrain.datasets.registry import DATASETS, PROTECTED, prepare_dataset

__all__ = [
    "DATASETS",
    "PROTECTED",
    "RAW_SOURCES",
    "DatasetSplits",
    "RawDataError",
    "fetch_raw",
    "prepare_dataset",
    "read_dataset",
    "write_dataset",
]
