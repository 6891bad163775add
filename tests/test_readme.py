"""The README's library example runs as written (issue 3: a runnable example)."""

import re

from helpers import REPO


def test_readme_python_example_runs(capsys):
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "train_accuracy" in out


def test_readme_quickstart_has_two_commands():
    text = (REPO / "README.md").read_text()
    quick = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", quick, flags=re.S)
    assert [c.strip() for c in commands] == [
        "pip install -e . && snakemake --profile profiles/local",
        'pip install -e ".[test]" && pytest',
    ]
    ci = (REPO / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]" && pytest' in ci
