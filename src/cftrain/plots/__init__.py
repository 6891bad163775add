"""Figures drawn only from tables and HDF5 files (method.md §8), never from models."""
