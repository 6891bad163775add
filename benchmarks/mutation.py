"""Mutation testing of the method modules (issue 13): run mutmut per module, write docs/mutation.md.

    python benchmarks/mutation.py                         # every module (hours on 2 shared cores)
    python benchmarks/mutation.py --modules objective generators.ecco search
    python benchmarks/mutation.py --report-only           # rewrite docs/mutation.md from mutants/
    python benchmarks/mutation.py --recheck --modules search  # re-test survivors against later tests

mutmut 3 (`[tool.mutmut]` in pyproject.toml) copies `src/` to `mutants/`, mutates the files listed
there and runs, per mutant, only the fast tests that call the mutated function (`-m "not slow and
not slurm"`, the test files of `pytest_add_cli_args_test_selection`). Results are cached in
`mutants/` and survive interrupted runs; a rerun continues with the unchecked mutants.

Score per module = detected / (mutants − equivalent), detected = killed + timeout (a mutant that makes
the tests hang is caught by the timeout). Surviving mutants judged equivalent (reason starting with
"Equivalent") or accepted (a real but tolerated change) are listed with the reason in
`benchmarks/mutation_accepted.toml` ({mutant name = "reason"}); accepted ones count against the
score; every other survivor is listed as "not judged". Modules whose mutants were not (all) run say so: no score is
written for what was not measured.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ACCEPTED = REPO / "benchmarks" / "mutation_accepted.toml"
RECHECKED = REPO / "benchmarks" / "mutation_rechecked.toml"
REPORT = REPO / "docs" / "mutation.md"

# Module → mutmut name patterns. training.py: only the sweep and its helpers (issue 13).
MODULES = {
    "objective": ["cftrain.objective.*"],
    "generators.ecco": ["cftrain.generators.ecco.*"],
    "search": ["cftrain.search.*"],
    "generators.base": ["cftrain.generators.base.*"],
    "generators.generic": ["cftrain.generators.generic.*"],
    "generators.revise": ["cftrain.generators.revise.*"],
    "generators.wachter": ["cftrain.generators.wachter.*"],
    "generators": ["cftrain.generators.x_*"],  # generators/__init__.py (build_generator)
    "training (sweep)": [
        "cftrain.training.x_counterfactual_sweep*",
        "cftrain.training.x_draw_neighbours*",
        "cftrain.training.x_split_sizes*",
    ],
    "constraints": ["cftrain.constraints.*"],
    "metrics": ["cftrain.metrics.*"],
    "evaluation.scores": ["cftrain.evaluation.scores.*"],
    "evaluation.protocol": ["cftrain.evaluation.protocol.*"],
    "aggregate": ["cftrain.aggregate.*"],
    "attacks": ["cftrain.attacks.*"],
}
DETECTED = {"killed", "timeout"}
STATUS_ORDER = ["killed", "timeout", "survived", "no tests", "suspicious", "skipped", "not checked"]


def _env() -> dict[str, str]:
    """mutmut must import the mutated copy in mutants/src: no PYTHONPATH to the real src/."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _mutmut(*args: str, check: bool = True) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "mutmut", *args], cwd=REPO, env=_env(), capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise SystemExit(
            f"mutmut {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc.stdout


def module_of(name: str) -> str | None:
    """The MODULES key a mutant name belongs to (None: not in the measured scope)."""
    for module, patterns in MODULES.items():
        for pattern in patterns:
            if re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), name):
                return module
    return None


def results() -> dict[str, str]:
    """{mutant name: status} of every generated mutant (mutmut `results --all true`)."""
    out = {}
    for line in _mutmut("results", "--all", "true").splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("cftrain."):
            out[name] = status.strip()
    return out


def diff_of(name: str) -> str:
    text = _mutmut("show", name, check=False)
    return "\n".join(line for line in text.splitlines() if line.startswith(("-", "+")) and not line.startswith(("---", "+++")))  # fmt: skip


def recheck(names: list[str], against: Path = REPO) -> dict[str, str]:
    """Apply each surviving mutant's diff to a copy of src/ and run the selected fast tests of the
    current tree on it (tests added after the mutmut run). {name: "killed" | "survived" | "no patch"}."""
    import shutil
    import tempfile

    cfg = tomllib.loads((against / "pyproject.toml").read_text())["tool"]["mutmut"]
    tests = [t for t in cfg["pytest_add_cli_args_test_selection"] if (against / t).exists()]
    out = {}
    for name in names:
        text = "\n".join(
            ln for ln in _mutmut("show", name, check=False).splitlines() if not ln.startswith("#")
        )
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(against / "src", Path(tmp) / "src")
            patch = subprocess.run(["patch", "-p0", "-s", "-F0"], cwd=tmp, input=text + "\n", text=True, capture_output=True, check=False)  # fmt: skip
            if patch.returncode:
                out[name] = "no patch"
                continue
            env = {**_env(), "PYTHONPATH": f"{tmp}/src"}
            run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow and not slurm", *tests], cwd=against, env=env, capture_output=True, check=False)  # fmt: skip
            out[name] = "killed" if run.returncode else "survived"
        print(f"{name}: {out[name]}", flush=True)
    return out


def write_report(statuses: dict[str, str], accepted: dict[str, str], command: str) -> str:
    per_module: dict[str, Counter] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    rechecked = tomllib.loads(RECHECKED.read_text()) if RECHECKED.exists() else {}
    for name, status in statuses.items():
        module = module_of(name)
        if module is None:
            continue
        if status == "survived" and rechecked.get(name, "").startswith("killed"):
            status = "killed later"
        per_module[module][status] += 1
        if status in ("survived", "no tests", "suspicious"):
            survivors[module].append(name)
    measured = ", ".join(m for m in MODULES if any(per_module[m][st] for st in STATUS_ORDER if st != "not checked")) or "none"  # fmt: skip
    lines = [
        "# Mutation testing of the method modules",
        "",
        f"Written by `benchmarks/mutation.py` on {date.today().isoformat()} (mutmut 3, config",
        "`[tool.mutmut]` in pyproject.toml; fast tests only). Score = (killed + timeout) /",
        '(mutants − equivalent survivors). "killed later": survived the mutmut run, killed by tests',
        "added after it (`--recheck` applies the mutant to src/ and runs the current fast tests;",
        "`benchmarks/mutation_rechecked.toml`). Survivors judged equivalent or accepted (a real change",
        "tolerated, counted against the score) have their reason below and in",
        "`benchmarks/mutation_accepted.toml`. A module with unchecked mutants has no score.",
        "",
        f"Last command: `{command}`; modules with results in `mutants/`: {measured}. A module marked",
        "*not measured* was not run in this `mutants/` tree: measure it with",
        "`nice -n 19 python benchmarks/mutation.py --modules <module>` (2–15 s per mutant on 2 shared",
        "cores); after adding tests, re-run the survivors with `python -m mutmut run <names>` (no",
        "PYTHONPATH), or `python benchmarks/mutation.py --recheck` without re-running mutmut.",
        "",
        "| module | mutants | killed | killed later | timeout | survived | no tests | equivalent | accepted | not checked | score |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for module in MODULES:
        c = per_module.get(module, Counter())
        total = sum(c.values())
        judged = [accepted[n] for n in survivors.get(module, []) if n in accepted]
        n_eq = sum(1 for reason in judged if reason.startswith("Equivalent"))
        n_acc = len(judged) - n_eq
        unchecked = c["not checked"]
        if total == 0:
            continue
        if unchecked:
            score = "not measured" if unchecked == total else f"partial ({total - unchecked} run)"
        else:
            detected = sum(c[s] for s in DETECTED) + c["killed later"]
            score = f"{100 * detected / max(total - n_eq, 1):.1f}%"
        lines.append(
            f"| {module} | {total} | {c['killed']} | {c['killed later']} | {c['timeout']} | {c['survived']} | "
            f"{c['no tests']} | {n_eq} | {n_acc} | {unchecked} | {score} |"
        )
    lines += ["", "## Surviving mutants", ""]
    for module in MODULES:
        names = sorted(survivors.get(module, []))
        if not names:
            continue
        lines += [f"### {module}", ""]
        for name in names:
            status = statuses[name]
            reason = accepted.get(name, "**not judged**")
            lines += [f"- `{name}` ({status}): {reason}", "", "  ```diff"]
            lines += [f"  {line}" for line in diff_of(name).splitlines()] + ["  ```", ""]
    stale = sorted(n for n in accepted if statuses.get(n) not in ("survived", "no tests", "suspicious") and statuses.get(n) != "not checked")  # fmt: skip
    if stale:
        lines += [
            "## Stale entries of mutation_accepted.toml",
            "",
            "Judged survivors that are now killed, or whose name no longer exists (mutmut numbers",
            "mutants per function: an edit of the function renumbers them). Remove or re-key them.",
            "",
        ]
        lines += [f"- `{n}` ({statuses.get(n, 'no such mutant')})" for n in stale] + [""]
    REPORT.write_text("\n".join(lines).rstrip() + "\n")
    return "\n".join(lines[: 16 + len(MODULES)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modules", nargs="+", choices=list(MODULES), default=list(MODULES))
    parser.add_argument("--max-children", type=int, default=1)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--recheck", action="store_true", help="re-test unjudged survivors (no mutmut run)"
    )
    parser.add_argument(
        "--against", type=Path, default=REPO, help="checkout whose src/ and tests --recheck uses"
    )
    args = parser.parse_args()
    command = "python benchmarks/mutation.py " + (
        "--report-only"
        if args.report_only
        else ("--recheck " if args.recheck else "") + "--modules " + " ".join(args.modules)
    )
    accepted = tomllib.loads(ACCEPTED.read_text()) if ACCEPTED.exists() else {}
    if args.recheck:
        todo = [n for n, st in results().items() if st == "survived" and n not in accepted and module_of(n) in args.modules]  # fmt: skip
        found = recheck(todo, args.against.resolve())
        old = tomllib.loads(RECHECKED.read_text()) if RECHECKED.exists() else {}
        stamp = f"(re-checked {date.today().isoformat()})"
        old.update({n: f"{st} {stamp}" for n, st in found.items()})
        RECHECKED.write_text("# Survivors of the last mutmut run re-tested against later tests (--recheck).\n" + "".join(f'"{n}" = "{v}"\n' for n, v in sorted(old.items())))  # fmt: skip
    elif not args.report_only:
        for module in args.modules:
            print(f"== {module}", flush=True)
            _mutmut("run", "--max-children", str(args.max_children), *MODULES[module])
    print(write_report(results(), accepted, command))


if __name__ == "__main__":
    main()
