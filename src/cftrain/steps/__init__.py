"""The workflow's steps, one module per rule file; `workflow/scripts/*.py` only call these."""
