"""Every sub-command's --help example works as printed, from an empty directory (issue 13)."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from abs_engine.cli import build_parser


def _examples() -> dict[str, list[str]]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = {}
    for name, sub in action.choices.items():
        epilog = sub.epilog or ""
        assert epilog.startswith("example:\n"), name
        out[name] = [line.strip() for line in epilog.splitlines()[1:] if line.strip()]
    return out


EXAMPLES = _examples()


def test_every_command_has_an_example() -> None:
    assert len(EXAMPLES) >= 12
    for name, lines in EXAMPLES.items():
        assert lines and lines[-1].startswith(f"abs-engine {name} "), (name, lines)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_help_example_runs_from_an_empty_directory(name: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": ""}
    for line in EXAMPLES[name]:
        argv = shlex.split(line)
        assert argv[0] == "abs-engine"
        proc = subprocess.run(
            [sys.executable, "-m", "abs_engine", *argv[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
