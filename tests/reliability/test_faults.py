"""Faults on output (issue 12): one line, exit 2, nothing partial, nothing left behind.

Every command that writes goes through :mod:`abs_engine.io` (a temporary beside the target,
flushed, renamed).  Faults are injected where the file system would raise them:

* disk full: flushing the written data fails with ``ENOSPC`` (a fake ``fsync``), and writing a
  file past ``RLIMIT_FSIZE`` fails with ``EFBIG`` ("file too large", a real limit in a child
  process);
* read-only file system: creating the temporary fails with ``EROFS``;
* ``--out`` under a file, ``--out /dev/full``;
* two runs into the same target.

After each: exit status 2, exactly one line on stderr, no traceback, no target, and no hidden
temporary in the output folder.  A temporary left by a killed writer is removed by the next run.
"""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import abs_engine as ae
from abs_engine import io
from tests.reliability.conftest import Cli, deal_for

#: Commands that write, with the output they write (under ``{out}``).
WRITERS = {
    "sample-pool": ["sample-pool", "--n", "50", "--out", "{out}/t.parquet"],
    "project": ["project", "{tape}", "--assumptions", "{assumptions}", "--out", "{out}/cf.csv"],
    "grade": ["grade", "{tape}", "--out", "{out}/g.xlsx", "--watchlist", "{out}/w.csv"],
    "run": ["run", "{deal}", "--out", "{out}", "--name", "r", "--no-breakeven"],
    "breakeven": ["breakeven", "{deal}", "--tranche", "senior", "--out", "{out}/be.csv"],
    "size": ["size", "{deal}", "--target", "senior=2", "--out", "{out}/sized.toml"],
    "stress": [
        "stress",
        "{deal}",
        "--grid",
        "default=1,2",
        "--executor",
        "serial",
        "--out",
        "{out}/b",
    ],
    "synthetic-history": ["synthetic-history", "--loans", "60", "--out", "{out}/h.csv"],
    "calibrate": ["calibrate", "{history}", "--out", "{out}/a.toml", "--report", "{out}/rep"],
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("inputs")
    tape = folder / "tape.parquet"
    ae.pool.write_tape(ae.sample_pool(n=300, seed=4), tape)
    history = folder / "history.parquet"
    ae.synthetic_history(300, seed=2).to_parquet(history)
    return {
        "tape": str(tape),
        "deal": str(deal_for(folder, tape)),
        "history": str(history),
        "assumptions": str(ae.samples.DATA_DIR / "pools" / "sample_assumptions.toml"),
    }


def _args(command: str, inputs: dict[str, str], out: Path) -> list[str]:
    return [a.format(out=out, **inputs) for a in WRITERS[command]]


def _leftovers(folder: Path) -> list[str]:
    """Everything under ``folder`` (recursively), relative: there should be nothing."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _fail_flush(path: Path, directory: bool = False) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def _fail_create(path: Path) -> None:
    raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_disk_full_is_one_line_and_leaves_nothing(
    command: str, inputs: dict[str, str], cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    monkeypatch.setattr(io, "_fsync_path", _fail_flush)
    res = cli(*_args(command, inputs, out))
    res.assert_one_line_error("No space left on device", "the disk is full")
    assert _leftovers(out) == [], _leftovers(out)


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_read_only_file_system_is_one_line(
    command: str, inputs: dict[str, str], cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    monkeypatch.setattr(io, "_create_file", _fail_create)
    monkeypatch.setattr(io, "_create_dir", _fail_create)
    res = cli(*_args(command, inputs, out))
    res.assert_one_line_error("Read-only file system", "write elsewhere")
    assert [p for p in _leftovers(out) if ".tmp" in p] == []


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_out_under_a_file_is_one_line(
    command: str, inputs: dict[str, str], cli: Cli, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    res = cli(*_args(command, inputs, blocker / "deeper"))
    res.assert_one_line_error("blocker")
    assert "is a file" in res.err or "not a directory" in res.err.lower()
    assert blocker.read_text(encoding="utf-8") == "a file, not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


@pytest.mark.parametrize("command", ["sample-pool", "grade", "synthetic-history", "project"])
def test_a_device_as_out_is_refused(
    command: str, inputs: dict[str, str], cli: Cli, tmp_path: Path
) -> None:
    """``--out`` naming /dev/full (here through a link with the right suffix) is refused."""
    out = tmp_path / "out"
    args = _args(command, inputs, out)
    target = Path(next(a for a in args if a.startswith(str(out))))
    out.mkdir()
    target.symlink_to("/dev/full")
    res = cli(*args)
    res.assert_one_line_error(str(target), "not a regular file")
    assert target.is_symlink() and Path(os.readlink(target)) == Path("/dev/full")


def _limited(limit: int) -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("command", ["sample-pool", "run"])
def test_file_too_large_is_one_line(command: str, inputs: dict[str, str], tmp_path: Path) -> None:
    """A real limit: the child may write files of at most 16 KiB (writes past it: EFBIG)."""
    out = tmp_path / "out"
    args = _args(command, inputs, out)
    if command == "sample-pool":
        args[args.index("50")] = "5000"
    res = subprocess.run(
        [sys.executable, "-m", "abs_engine", *args],
        capture_output=True,
        text=True,
        preexec_fn=lambda: _limited(16 << 10),
        check=False,
    )
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "File too large" in lines[0]
    assert _leftovers(out) == [], _leftovers(out)


def test_two_runs_into_the_same_target(
    inputs: dict[str, str], cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other run finishes first: ours fails with one line and replaces nothing."""
    from abs_engine.reports import run as report_run

    out = tmp_path / "out"
    original = report_run.write_workbook

    def other_run_finishes(path: Path, *args: object, **kwargs: object) -> Path:
        (out / "r").mkdir(parents=True)
        (out / "r" / "theirs.txt").write_text("the other run's report", encoding="utf-8")
        return original(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(report_run, "write_workbook", other_run_finishes)
    res = cli(*_args("run", inputs, out))
    res.assert_one_line_error("output directory", "appeared while this run wrote it")
    assert _leftovers(out) == ["r", "r/theirs.txt"]


def test_an_existing_run_directory_is_not_merged(
    inputs: dict[str, str], cli: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "r").mkdir(parents=True)
    res = cli(*_args("run", inputs, out))
    res.assert_one_line_error("already exists")
    assert _leftovers(out) == ["r"]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_writers_temporaries_are_removed_by_the_next_run(
    inputs: dict[str, str], cli: Cli, tmp_path: Path
) -> None:
    """A run killed mid-write leaves ``.name.<host>-<pid>-<hex>.tmp``; the next one removes it."""
    out = tmp_path / "out"
    out.mkdir()
    host = io._host_tag()
    dead = _dead_pid()
    stale_dir = out / f".r.{host}-{dead}-0123abcd.tmp"
    stale_dir.mkdir()
    (stale_dir / "report.html").write_text("an unscanned report", encoding="utf-8")
    stale_file = out / f".cf.csv.{host}-{dead}-89abcdef.tmp"
    stale_file.write_text("half a file", encoding="utf-8")
    live = out / f".x.{host}-{os.getpid()}-00000000.tmp"  # a write in progress: kept
    live.write_text("in progress", encoding="utf-8")
    other_host = out / f".y.ffffff-{dead}-00000000.tmp"  # another machine's: kept
    other_host.write_text("theirs", encoding="utf-8")
    mine = out / "notes.tmp"  # not our naming: kept
    mine.write_text("the user's", encoding="utf-8")
    res = cli(*_args("run", inputs, out))
    assert res.code == 0, res.err
    assert not stale_dir.exists() and not stale_file.exists()
    assert live.exists() and other_host.exists() and mine.exists()


def test_a_killed_run_leaves_nothing_the_next_run_keeps(
    inputs: dict[str, str], tmp_path: Path
) -> None:
    """SIGKILL a real run while it writes; the next run into the folder cleans up after it."""
    out = tmp_path / "out"
    args = [sys.executable, "-m", "abs_engine", *_args("run", inputs, out)]
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if out.exists() and any(p.name.endswith(".tmp") for p in out.iterdir()):
            break
        time.sleep(0.02)
    child.kill()
    child.wait()
    if (out / "r").exists():  # it finished first: nothing to clean
        return
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "abs_engine",
            *_args("run", inputs, out)[:-3],
            "--name",
            "r2",
            "--no-breakeven",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert second.returncode == 0, second.stderr
    assert [p.name for p in out.iterdir()] == ["r2"]


def test_writes_are_flushed_before_they_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsync of the file before the rename, of the folder after it."""
    calls: list[tuple[str, bool]] = []
    real = io._fsync_path

    def spy(path: Path, directory: bool = False) -> None:
        calls.append((Path(path).name, directory))
        real(path, directory)

    monkeypatch.setattr(io, "_fsync_path", spy)
    target = tmp_path / "a.csv"
    io.write_frame(pd.DataFrame({"x": [1]}), target)
    assert calls[0][1] is False and calls[0][0].endswith(".tmp")  # the data, before the rename
    assert calls[-1] == (tmp_path.name, True)  # the folder's entry, after it
