"""Test-time evaluation of method.md §6: counterfactual protocol and per-run metrics."""
