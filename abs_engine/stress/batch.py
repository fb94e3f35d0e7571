"""Stress batches: many scenarios in chunks, serially or on a Dask cluster, resumable.

Layout of a batch directory ``out``::

    out/batch.json                          the batch's identity and metadata (atomic)
    out/scenarios.parquet                   every scenario: id, group, levers, info, chunk
    out/summary/chunk=000123/part.parquet   one row per scenario x tranche (a finished chunk)
    out/cashflows/tranche/chunk=000123/...  note cash flows (only with cashflows=True)
    out/cashflows/pool/chunk=000123/...     pool collections (only with cashflows=True)
    out/failed/chunk=000123.json            a chunk that raised: error, traceback, scenario ids
    out/status.json                         counts of the last run

Chunk ``k`` holds scenarios ``[k * chunk_size, (k + 1) * chunk_size)`` whatever
the executor, and one function computes a chunk in every executor, so serial,
local-cluster and distributed runs give bit-identical results (the engine's
floating-point sums depend on which scenarios share a vectorised call, never
on where it runs).  A chunk's files are written atomically and durably (a
temporary file, flushed to disk, renamed into place, the folder flushed), the
summary last, so ``summary/chunk=K/part.parquet`` existing means chunk ``K``
is complete; ``batch.json`` is written the same way before any chunk.

Resuming: re-running with the same ``out`` skips finished chunks and retries
failed ones.  Each finished chunk is verified first (its summary must be a
readable parquet file of this batch with one row per scenario and tranche); a
damaged one (a disk that lost its tail) is removed and runs again.
``batch.json`` holds the batch's identity — hashes of the deal
spec, the pool's cohorts and the scenario table, the chunk size, the seed,
whether cash flows are kept and the package version; a re-run whose identity
differs refuses to touch ``out`` rather than mix two batches.  Killing the
process at any moment loses at most the chunks in flight: a re-run completes
the batch with every scenario exactly once.  A lock file stops two runs
writing to the same ``out`` at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import importlib
import json
import logging
import os
import re
import shutil
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from abs_engine.analytics.deal import run as run_analysed
from abs_engine.curves.scenarios import Scenario, ScenarioSet
from abs_engine.deal.spec import Deal, deal_from_dict, deal_to_dict
from abs_engine.errors import SpecError
from abs_engine.io import atomic_path
from abs_engine.pool.cohorts import Cohorts
from abs_engine.pool.pool import Pool, load_pool
from abs_engine.reports.metadata import canonical_json, git_commit, package_version, spec_hash
from abs_engine.stress.scenarios import ScenarioTable

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "BatchSummary",
    "ChunkFailure",
    "Executor",
    "read_cashflows",
    "read_manifest",
    "read_results",
    "read_scenario_table",
    "run_batch",
]

log = logging.getLogger(__name__)

Executor = Literal["dask", "serial"]
DEFAULT_CHUNK_SIZE = 2_000
FORMAT = 1
MANIFEST = "batch.json"
STATUS = "status.json"
SCENARIOS = "scenarios.parquet"
SUMMARY = "summary"
CASHFLOWS = ("cashflows/tranche", "cashflows/pool")
FAILED = "failed"
PART = "part.parquet"
_LOCK = ".lock"
_META_KEY = b"abs_engine.stress"
_TRIM_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


# --- results of a run ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkFailure:
    """A chunk that raised: its index, its scenario ids and the error."""

    chunk: int
    scenarios: tuple[str, ...]
    error: str
    traceback: str = ""


@dataclass(frozen=True)
class BatchSummary:
    """What one call of :func:`run_batch` did.

    Attributes
    ----------
    out : Path
        The batch directory.
    n_scenarios, n_chunks : int
        Size of the whole batch.
    done : int
        Chunks finished by this run.
    failed : int
        Chunks that raised in this run (recorded under ``out/failed``).
    skipped : int
        Chunks already finished before this run.
    scenarios_run : int
        Scenarios computed by this run (in the finished chunks).
    elapsed : float
        Wall time of this run, seconds (cluster start-up included).
    failures : tuple of ChunkFailure
    executor : str
        ``"serial"``, ``"dask"`` (embedded local cluster) or the scheduler address.
    """

    out: Path
    n_scenarios: int
    n_chunks: int
    done: int
    failed: int
    skipped: int
    scenarios_run: int
    elapsed: float
    failures: tuple[ChunkFailure, ...] = ()
    executor: str = "serial"

    @property
    def complete(self) -> bool:
        """Whether every chunk of the batch is finished."""
        return self.done + self.skipped == self.n_chunks

    @property
    def scenarios_per_second(self) -> float:
        """Scenarios computed per second of this run."""
        return self.scenarios_run / self.elapsed if self.elapsed > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``status.json``)."""
        return {
            "n_scenarios": self.n_scenarios,
            "n_chunks": self.n_chunks,
            "done": self.done,
            "failed": self.failed,
            "skipped": self.skipped,
            "scenarios_run": self.scenarios_run,
            "elapsed_seconds": round(self.elapsed, 3),
            "scenarios_per_second": round(self.scenarios_per_second, 1)
            if self.elapsed > 0
            else None,
            "complete": self.complete,
            "executor": self.executor,
            "failures": [dataclasses.asdict(f) for f in self.failures],
        }

    def __str__(self) -> str:
        rate = f", {self.scenarios_per_second:,.0f} scenarios/s" if self.scenarios_run else ""
        state = "complete" if self.complete else "INCOMPLETE"
        return (
            f"{self.n_scenarios:,} scenarios in {self.n_chunks:,} "
            f"chunk{'s' if self.n_chunks != 1 else ''} ({state}): "
            f"{self.done:,} done, {self.failed:,} failed, {self.skipped:,} skipped; "
            f"{self.elapsed:,.1f} s{rate} [{self.executor}]"
        )


# --- the work of one chunk (the same code in every executor) --------------------------------------


@dataclass(frozen=True)
class _Shared:
    """What every chunk needs, sent once to each worker (plain, picklable data)."""

    deal: dict[str, Any]
    cohorts: Cohorts
    cashflows: bool
    stamp: str


@dataclass(frozen=True)
class _Task:
    chunk: int
    start: int
    frame: pd.DataFrame  # the chunk's rows of ScenarioTable.to_frame()
    info: tuple[str, ...]


@dataclass(frozen=True)
class _Outcome:
    chunk: int
    parts: dict[str, bytes] | None
    error: str | None = None
    traceback: str = ""
    seconds: float = 0.0


def _compute_chunk(shared: _Shared, task: _Task) -> _Outcome:
    """Run one chunk; never raises (an error becomes part of the outcome)."""
    t0 = time.perf_counter()
    try:
        parts = _chunk_tables(shared, task)
    except Exception as exc:
        return _Outcome(
            task.chunk,
            None,
            f"{type(exc).__name__}: {exc}",
            traceback.format_exc(),
            time.perf_counter() - t0,
        )
    return _Outcome(task.chunk, parts, None, "", time.perf_counter() - t0)


def _chunk_tables(shared: _Shared, task: _Task) -> dict[str, bytes]:
    """The chunk's result tables as parquet bytes, keyed by dataset (``summary``, ...)."""
    deal = deal_from_dict(shared.deal)
    table = ScenarioTable.from_frame(task.frame, info=task.info)
    result = run_analysed(deal, shared.cohorts, table.scenarios)
    summary = result.summary()
    S, N = result.n_scenarios, len(result.tranche_names)
    names = np.asarray(table.names)
    if not np.array_equal(summary["scenario"].to_numpy(dtype=str), np.repeat(names, N)):
        raise AssertionError("summary rows are not in scenario x tranche order")
    b0 = result.pool_balance
    pool_default = result.pool["default"].sum(axis=1) / b0
    pool_loss = result.pool["loss"].sum(axis=1) / b0
    lead = pd.DataFrame(
        {
            "scenario_index": task.start + np.repeat(np.arange(S, dtype=np.int64), N),
            "scenario": summary["scenario"].to_numpy(dtype=str),
            "group": np.repeat(np.asarray(table.group), N),
        }
    )
    body = summary.drop(columns="scenario").reset_index(drop=True)
    tail = pd.DataFrame(
        {"pool_default_rate": np.repeat(pool_default, N), "pool_net_loss": np.repeat(pool_loss, N)}
    )
    levers = task.frame.drop(columns=["scenario", "group"]).reset_index(drop=True)
    levers = levers.loc[np.repeat(np.arange(S), N)].reset_index(drop=True)
    frame = pd.concat([lead, body, tail, levers], axis=1)
    parts = {SUMMARY: _parquet_bytes(frame, shared.stamp, task.chunk)}
    if shared.cashflows:
        parts[CASHFLOWS[0]] = _parquet_bytes(result.tranche_cashflows, shared.stamp, task.chunk)
        parts[CASHFLOWS[1]] = _parquet_bytes(result.pool_cashflows, shared.stamp, task.chunk)
    return parts


def _parquet_bytes(frame: pd.DataFrame, stamp: str, chunk: int) -> bytes:
    """A frame as parquet bytes with a fixed schema (text as string, dates as seconds)."""
    arrays = []
    fields = []
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            arr = pa.array(values.to_numpy(dtype="datetime64[s]"), type=pa.timestamp("s"))
        elif pd.api.types.is_bool_dtype(values.dtype):
            arr = pa.array(values.to_numpy(dtype=bool), type=pa.bool_())
        elif pd.api.types.is_integer_dtype(values.dtype):
            arr = pa.array(values.to_numpy(dtype=np.int64), type=pa.int64())
        elif pd.api.types.is_float_dtype(values.dtype):
            arr = pa.array(values.to_numpy(dtype=np.float64), type=pa.float64())
        else:
            arr = pa.array(values.astype(str).to_numpy(dtype=object), type=pa.string())
        arrays.append(arr)
        fields.append(pa.field(str(col), arr.type))
    meta = {_META_KEY: json.dumps({"format": FORMAT, "batch": stamp, "chunk": chunk}).encode()}
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


# --- identity -------------------------------------------------------------------------------------


def _hash_arrays(items: Iterable[tuple[str, Any]]) -> str:
    h = hashlib.sha256()
    for name, value in items:
        h.update(name.encode())
        arr = np.asarray(value)
        if arr.dtype.kind in "OUS":
            h.update("\x1f".join(map(str, arr.tolist())).encode())
        else:
            h.update(str(arr.dtype).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _cohorts_hash(cohorts: Cohorts) -> str:
    return _hash_arrays((f.name, getattr(cohorts, f.name)) for f in dataclasses.fields(cohorts))


def _frame_hash(frame: pd.DataFrame) -> str:
    return _hash_arrays((str(c), frame[c].to_numpy()) for c in frame.columns)


def _identity(
    deal_spec: Mapping[str, Any],
    cohorts: Cohorts,
    frame: pd.DataFrame,
    chunk_size: int,
    cashflows: bool,
    seed: int | None,
) -> dict[str, Any]:
    hashed = {k: v for k, v in deal_spec.items() if k != "pool"}
    pool_part = dict(deal_spec.get("pool", {}))
    pool_part.pop("tape", None)  # where the tape lives is not what it holds: the cohorts are
    hashed["pool"] = pool_part
    return {
        "format": FORMAT,
        "deal": spec_hash(hashed),
        "pool": _cohorts_hash(cohorts),
        "scenarios": _frame_hash(frame),
        "n_scenarios": len(frame),
        "chunk_size": chunk_size,
        "cashflows": cashflows,
        "seed": seed,
        "package_version": package_version(),
    }


def read_manifest(out: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``batch.json`` of a batch directory."""
    path = Path(out) / MANIFEST
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(
            f"{Path(out)} is not a stress batch (no {MANIFEST}); run run_batch with out= first",
            "out",
        ) from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path} is not valid JSON ({exc}); delete the directory", "out") from None
    return data


def _check_identity(out: Path, identity: Mapping[str, Any]) -> bool:
    """Whether ``out`` already holds this batch; raise if it holds another (or other files)."""
    if not out.exists():
        return False
    if not out.is_dir():
        raise SpecError(f"{out} is a file; give a directory for the batch", "out")
    if not (out / MANIFEST).exists():
        visible = [p.name for p in out.iterdir() if not p.name.startswith(".")]
        if visible:
            raise SpecError(
                f"{out} is not empty and holds no stress batch ({', '.join(sorted(visible)[:3])}"
                f"{', ...' if len(visible) > 3 else ''}); choose a new or empty directory",
                "out",
            )
        return False
    old = read_manifest(out).get("identity", {})
    diff = [k for k in identity if old.get(k) != identity[k]]
    if diff:
        what = ", ".join(diff)
        raise SpecError(
            f"{out} holds a different batch (differs in: {what}); re-run with the same deal, "
            "pool, scenarios and chunk size to resume it, or give a new directory",
            "out",
        )
    return True


# --- the directory --------------------------------------------------------------------------------


def _chunk_dir(kind: str, chunk: int, width: int) -> str:
    return f"{kind}/chunk={chunk:0{width}d}"


def _width(n_chunks: int) -> int:
    return max(6, len(str(max(n_chunks - 1, 0))))


def _finished(out: Path, n_chunks: int) -> set[int]:
    done: set[int] = set()
    base = out / SUMMARY
    if not base.exists():
        return done
    for d in base.iterdir():
        if d.name.startswith("chunk=") and (d / PART).exists():
            try:
                k = int(d.name.split("=", 1)[1])
            except ValueError:
                continue
            if 0 <= k < n_chunks:
                done.add(k)
    return done


def _verified(
    out: Path, done: set[int], width: int, expected_rows: Callable[[int], int], stamp: str
) -> set[int]:
    """The finished chunks whose files are whole; the files of the others are removed.

    A chunk's summary must be a readable parquet file of this batch (its
    metadata names the batch and the chunk) with one row per scenario and
    tranche; a truncated or foreign file is removed so the chunk runs again.
    """
    good: set[int] = set()
    for k in sorted(done):
        path = out / _chunk_dir(SUMMARY, k, width) / PART
        why = ""
        try:
            meta = pq.read_metadata(path)
            info = json.loads((meta.metadata or {}).get(_META_KEY, b"{}"))
            if info.get("batch") != stamp or info.get("chunk") != k:
                why = "it belongs to another batch"
            elif meta.num_rows != expected_rows(k):
                why = f"it has {meta.num_rows} rows, not {expected_rows(k)}"
        except (OSError, ValueError, pa.ArrowException) as exc:
            why = f"it cannot be read ({type(exc).__name__})"
        if not why:
            good.add(k)
            continue
        log.warning("chunk %d of %s is damaged (%s); it runs again", k, out, why)
        for kind in (*CASHFLOWS, SUMMARY):
            shutil.rmtree(out / _chunk_dir(kind, k, width), ignore_errors=True)
    return good


def _clean_temporaries(out: Path) -> None:
    """Remove temporary files left by a run that was killed mid-write."""
    for tmp in out.rglob(".*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` for the run (released by the OS if the process dies)."""
    if sys.platform == "win32":  # pragma: no cover - no flock; runs are not guarded
        yield
        return
    import fcntl

    fh = (out / _LOCK).open("a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SpecError(
                f"another run is writing to {out} (its lock is held); wait for it or stop it",
                "out",
            ) from None
        yield
    finally:
        fh.close()


def _write_bytes(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def _write_json(target: Path, data: Mapping[str, Any]) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=str)
    with atomic_path(target) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


_ADDRESS = re.compile(
    r"^(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)"
    r":(?P<port>\d{1,5})/?$"
)
_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")


def check_address(address: str, where: str = "address") -> str:
    """A Dask scheduler address ``[tcp://]HOST:PORT`` (IPv6 in brackets), or a SpecError.

    >>> check_address("tcp://10.0.0.5:8786"), check_address("[::1]:8786")
    ('tcp://10.0.0.5:8786', 'tcp://[::1]:8786')
    """
    text = str(address).strip()
    m = _ADDRESS.match(text)
    scheme = (m["scheme"] or "tcp") if m else ""
    if m is None or scheme not in _SCHEMES or not 0 < int(m["port"]) < 65536:
        raise SpecError(
            f"{address!r} is not a scheduler address; write tcp://HOST:PORT, e.g. "
            "tcp://10.0.0.5:8786 (an IPv6 host in brackets: tcp://[::1]:8786)",
            where,
        )
    return f"{scheme}://{m['host']}:{int(m['port'])}"


# --- executors ------------------------------------------------------------------------------------

Runner = Callable[[_Shared, Sequence[_Task]], Iterator[_Outcome]]


def _serial_runner(shared: _Shared, tasks: Sequence[_Task]) -> Iterator[_Outcome]:
    for task in tasks:
        yield _compute_chunk(shared, task)


@contextlib.contextmanager
def _dask_runner(address: str | None, workers: int | None) -> Iterator[tuple[Runner, str]]:
    try:
        dask: Any = importlib.import_module("dask")
        dist: Any = importlib.import_module("distributed")
    except ImportError:  # pragma: no cover - a dependency
        raise SpecError(
            "executor='dask' needs dask[distributed]; pip install 'dask[distributed]' "
            "or use executor='serial'",
            "executor",
        ) from None

    with contextlib.ExitStack() as stack:
        if address is None:
            n = workers or os.cpu_count() or 1
            # The nanny's default MALLOC_TRIM_THRESHOLD_ turns off glibc's dynamic mmap
            # threshold: every large temporary array is then mmap'ed and page-faulted
            # afresh, which halves the engine's speed.  Workers of the embedded cluster
            # keep the default allocator (the setting lasts while the cluster starts).
            stack.enter_context(dask.config.set({_TRIM_KEY: None}))
            cluster = stack.enter_context(
                dist.LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    # The scheduler's HTTP routes on a free port: several batches may run.
                    scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(dist.Client(cluster))
            label = f"dask local cluster ({n} worker{'s' if n != 1 else ''})"
        else:
            try:
                client = stack.enter_context(dist.Client(address, timeout="10s"))
            except (OSError, TimeoutError, ValueError) as exc:
                raise SpecError(
                    f"cannot reach the Dask scheduler at {address} ({exc}); start one with "
                    "`dask scheduler` and `dask worker ADDRESS`, or drop the address",
                    "address",
                ) from None
            label = f"dask cluster at {address}"

        def run(shared: _Shared, tasks: Sequence[_Task]) -> Iterator[_Outcome]:
            if not tasks:
                return
            [shared_f] = client.scatter([shared], broadcast=True)
            token = uuid.uuid4().hex[:8]
            futures = {
                client.submit(
                    _compute_chunk,
                    shared_f,
                    task,
                    key=f"abs-stress-{token}-{task.chunk:06d}",
                    pure=False,
                ): task
                for task in tasks
            }
            for fut in dist.as_completed(list(futures)):
                task = futures.pop(fut)
                try:
                    outcome = fut.result()
                except Exception as exc:  # the worker died, or the task could not run
                    outcome = _Outcome(
                        task.chunk, None, f"{type(exc).__name__}: {exc}", traceback.format_exc()
                    )
                fut.release()
                yield outcome

        yield run, label


@contextlib.contextmanager
def _runner(
    executor: Executor, address: str | None, workers: int | None
) -> Iterator[tuple[Runner, str]]:
    if executor == "serial":
        yield _serial_runner, "serial"
        return
    with _dask_runner(address, workers) as pair:
        yield pair


# --- the batch ------------------------------------------------------------------------------------


def run_batch(
    deal: Deal,
    pool: Pool | Cohorts | None,
    scenarios: ScenarioTable | ScenarioSet | Scenario | Sequence[Scenario],
    *,
    out: str | os.PathLike[str],
    executor: Executor = "dask",
    address: str | None = None,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    cashflows: bool = False,
    progress: bool | None = False,
) -> BatchSummary:
    """Run a deal over many scenarios in chunks and store the results under ``out``.

    Parameters
    ----------
    deal : Deal
    pool : Pool or Cohorts, optional
        The cut-off pool; ``None`` loads the deal's own tape.
    scenarios : ScenarioTable, ScenarioSet, Scenario or list of Scenario
        What to run (see :mod:`abs_engine.stress.scenarios` and
        :func:`~abs_engine.stress.monte_carlo`).
    out : path-like
        Batch directory: created if missing; a directory holding the same
        batch is resumed (finished chunks skipped, failed ones retried).
    executor : {"dask", "serial"}
        ``"dask"``: an embedded ``distributed.LocalCluster`` of worker
        processes (``workers``, default one per CPU, one thread each), or the
        existing cluster at ``address``.  ``"serial"``: in this process.
        Results are the same either way; with at most one chunk left to run
        no local cluster is started (it would only add its start-up time).
    address : str, optional
        Scheduler of an existing Dask cluster, ``"tcp://host:8786"``.  Its
        workers see ``deal`` and the pool's cohorts (sent to each once) and
        return results to this process, which writes them: they need no
        access to ``out``.  Start them without the nanny's default
        ``MALLOC_TRIM_THRESHOLD_`` (dask config
        ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null``):
        with it the engine runs about half as fast.
    workers : int, optional
        Worker processes of the embedded cluster (default ``os.cpu_count()``).
    chunk_size : int
        Scenarios per chunk (one vectorised engine call each).
    cashflows : bool
        Also store every scenario's note and pool cash flows (large).
    progress : bool or None
        True: a progress bar of chunks on stderr (tqdm); None: a bar when
        stderr is a terminal, else a log line every few seconds (logger
        ``abs_engine.progress``); False: nothing.

    Returns
    -------
    BatchSummary
        Chunks done, failed and skipped by this run, time and throughput.

    Raises
    ------
    SpecError
        ``out`` holds a different batch or other files, another run holds
        its lock, or the executor settings are invalid.
    """
    if executor not in ("dask", "serial"):
        raise SpecError(f"executor must be 'dask' or 'serial'; got {executor!r}", "executor")
    if executor == "serial" and (address is not None or workers is not None):
        raise SpecError("address and workers apply to executor='dask'", "executor")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise SpecError(f"must be a whole number >= 1; got {chunk_size!r}", "chunk_size")
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise SpecError(f"must be a whole number >= 1; got {workers!r}", "workers")
    if address is not None:
        address = check_address(address)
    table = ScenarioTable.of(scenarios)
    if pool is None:
        if deal.pool.tape is None:
            raise SpecError("the deal names no tape; pass pool=", "pool.tape")
        pool = load_pool(deal.pool.tape, grades=deal.pool.grades)
    cohorts = pool.cohorts() if isinstance(pool, Pool) else pool
    # What the engine would refuse in every chunk is refused now, before a batch exists.
    table.scenarios.check_grades(cohorts.grades)
    out = Path(out)
    frame = table.to_frame()
    n = len(frame)
    n_chunks = -(-n // chunk_size)
    width = _width(n_chunks)
    spec = deal_to_dict(deal)
    identity = _identity(spec, cohorts, frame, chunk_size, cashflows, table.seed)
    stamp = spec_hash(identity)
    # Refuse early, before a cluster starts; and start none for one chunk or less.
    left = n_chunks - len(_finished(out, n_chunks)) if _check_identity(out, identity) else n_chunks
    if executor == "dask" and address is None and left <= 1:
        executor, workers = "serial", None

    t0 = time.perf_counter()
    created = False
    with _runner(executor, address, workers) as (runner, label):
        if not out.exists():
            out.mkdir(parents=True)
            created = True
        completed = 0
        try:
            with _locked(out):
                resuming = _check_identity(out, identity)  # under the lock this time
                _clean_temporaries(out)
                if not resuming:
                    _write_manifest(out, deal, spec, cohorts, table, identity, stamp, n_chunks)
                if not (out / SCENARIOS).exists():  # also after a kill right after the manifest
                    _write_scenarios(out, frame, chunk_size, stamp)
                n_tranches = len(deal.tranches)
                done_before = _verified(
                    out,
                    _finished(out, n_chunks),
                    width,
                    lambda k: min(chunk_size, n - k * chunk_size) * n_tranches,
                    stamp,
                )
                pending = [k for k in range(n_chunks) if k not in done_before]
                info = tuple(table.info)
                tasks = [
                    _Task(
                        k,
                        k * chunk_size,
                        frame.iloc[k * chunk_size : (k + 1) * chunk_size].reset_index(drop=True),
                        info,
                    )
                    for k in pending
                ]
                shared = _Shared(spec, cohorts, cashflows, stamp)
                failures: list[ChunkFailure] = []
                scenarios_run = 0
                bar = _progress(progress, n_chunks, len(done_before))
                try:
                    for outcome in runner(shared, tasks):
                        size = min(chunk_size, n - outcome.chunk * chunk_size)
                        if outcome.parts is not None:
                            _store(out, outcome, width)
                            completed += 1
                            scenarios_run += size
                        else:
                            lo = outcome.chunk * chunk_size
                            failure = ChunkFailure(
                                outcome.chunk,
                                tuple(frame["scenario"].iloc[lo : lo + size].astype(str)),
                                outcome.error or "unknown error",
                                outcome.traceback,
                            )
                            _record_failure(out, failure, width)
                            failures.append(failure)
                            log.warning(
                                "chunk %d failed (%d scenarios): %s",
                                outcome.chunk,
                                size,
                                failure.error,
                            )
                        if bar is not None:
                            bar.update(1)
                            bar.set_postfix(failed=len(failures), refresh=False)
                finally:
                    if bar is not None:
                        bar.close()
                summary = BatchSummary(
                    out,
                    n,
                    n_chunks,
                    completed,
                    len(failures),
                    len(done_before),
                    scenarios_run,
                    time.perf_counter() - t0,
                    tuple(failures),
                    label,
                )
                _write_json(out / STATUS, {**summary.to_dict(), "finished": _now()})
        except BaseException:
            if created and completed == 0:
                shutil.rmtree(out, ignore_errors=True)
            raise
    log.info("stress batch %s: %s", out, summary)
    return summary


def _progress(show: bool | None, total: int, initial: int) -> Any:
    if show is False:
        return None
    from abs_engine._progress import Progress

    return Progress(total, "stress", "chunk", show=show, initial=initial)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write_scenarios(out: Path, frame: pd.DataFrame, chunk_size: int, stamp: str) -> None:
    """The batch's scenario table, with each scenario's index and chunk."""
    scen = frame.copy()
    scen.insert(0, "scenario_index", np.arange(len(frame), dtype=np.int64))
    scen["chunk"] = np.arange(len(frame), dtype=np.int64) // chunk_size
    _write_bytes(out / SCENARIOS, _parquet_bytes(scen, stamp, -1))


def _write_manifest(
    out: Path,
    deal: Deal,
    spec: Mapping[str, Any],
    cohorts: Cohorts,
    table: ScenarioTable,
    identity: Mapping[str, Any],
    stamp: str,
    n_chunks: int,
) -> None:
    """``batch.json`` of a new batch: its identity, then what describes it."""
    manifest = {
        "kind": "abs_engine stress batch",
        "format": FORMAT,
        "identity": dict(identity),
        "batch": stamp,
        "n_scenarios": len(table),
        "n_chunks": n_chunks,
        "chunk_size": identity["chunk_size"],
        "info_columns": list(table.info),
        "groups": list(table.groups),
        "seed": table.seed,
        "package_version": package_version(),
        "git_commit": git_commit(),
        "created": _now(),
        "deal_name": deal.name,
        "currency": deal.currency,
        "tranches": [t.name for t in deal.tranches],
        "pool_balance": float(cohorts.total_balance),
        "pool_cohorts": len(cohorts),
        "grades": list(cohorts.grades),
        "scenario_metadata": json.loads(canonical_json(dict(table.metadata))),
        "deal": json.loads(canonical_json(spec)),
    }
    _write_json(out / MANIFEST, manifest)


def _store(out: Path, outcome: _Outcome, width: int) -> None:
    assert outcome.parts is not None
    # Cash flows first, the summary last: its presence marks the chunk finished.
    for kind in (*CASHFLOWS, SUMMARY):
        data = outcome.parts.get(kind)
        if data is not None:
            _write_bytes(out / _chunk_dir(kind, outcome.chunk, width) / PART, data)
    stale = out / FAILED / f"chunk={outcome.chunk:0{width}d}.json"
    stale.unlink(missing_ok=True)


def _record_failure(out: Path, failure: ChunkFailure, width: int) -> None:
    _write_json(
        out / FAILED / f"chunk={failure.chunk:0{width}d}.json",
        {**dataclasses.asdict(failure), "failed_at": _now()},
    )


# --- reading --------------------------------------------------------------------------------------


def _dataset(out: Path, kind: str) -> ds.Dataset:
    base = out / kind
    if not base.exists():
        what = "cash flows (run with cashflows=True)" if kind != SUMMARY else "results"
        raise SpecError(f"no {what} under {out}; run run_batch(out=...) first", "out")
    part = ds.partitioning(pa.schema([("chunk", pa.int32())]), flavor="hive")
    return ds.dataset(base, format="parquet", partitioning=part)


def _incomplete_warning(out: Path, found: int) -> None:
    with contextlib.suppress(SpecError):
        n_chunks = int(read_manifest(out).get("n_chunks", found))
        if found < n_chunks:
            log.warning(
                "batch %s is incomplete: %d of %d chunks finished; run run_batch with the "
                "same out to finish it",
                out,
                found,
                n_chunks,
            )


def read_results(
    out: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Load a batch's results: one row per scenario and tranche, each scenario once.

    Columns: ``scenario_index, scenario, group, tranche``, the measures of
    :meth:`~abs_engine.AnalysedRun.summary` (``principal_loss_share`` is the
    tranche's loss), ``pool_default_rate`` and ``pool_net_loss`` (life totals
    as shares of the cut-off pool, purchases included), the scenario's lever
    and info columns, and ``chunk``.  Rows follow the scenario order.

    Parameters
    ----------
    out : path-like
        The batch directory.
    columns : sequence of str, optional
        Only these columns (``scenario_index`` is always read).
    groups : sequence of str, optional
        Only scenarios of these groups.
    """
    path = Path(out)
    dataset = _dataset(path, SUMMARY)
    cols = None
    if columns is not None:
        cols = list(dict.fromkeys(["scenario_index", *columns]))
        unknown = [c for c in cols if c not in dataset.schema.names]
        if unknown:
            raise SpecError(
                f"unknown column(s) {unknown}; the results have {', '.join(dataset.schema.names)}",
                "columns",
            )
    flt = ds.field("group").isin(list(groups)) if groups is not None else None
    table = dataset.to_table(columns=cols, filter=flt)
    table = table.sort_by([("scenario_index", "ascending")])
    frame: pd.DataFrame = table.to_pandas()
    _incomplete_warning(path, len(_finished(path, np.iinfo(np.int32).max)))
    return frame


def read_cashflows(
    out: str | os.PathLike[str],
    kind: Literal["tranche", "pool"] = "tranche",
    *,
    scenarios: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Cash flows kept by a batch run with ``cashflows=True``.

    Parameters
    ----------
    out : path-like
    kind : {"tranche", "pool"}
        Note cash flows (scenario, period, date, tranche, ...) or pool collections.
    scenarios : sequence of str, optional
        Only these scenario ids.
    """
    if kind not in ("tranche", "pool"):
        raise SpecError(f"kind must be 'tranche' or 'pool'; got {kind!r}", "kind")
    dataset = _dataset(Path(out), f"cashflows/{kind}")
    flt = ds.field("scenario").isin(list(scenarios)) if scenarios is not None else None
    table = dataset.to_table(filter=flt).sort_by([("chunk", "ascending")])
    frame: pd.DataFrame = table.to_pandas()
    return frame


def read_scenario_table(out: str | os.PathLike[str]) -> pd.DataFrame:
    """The scenario table of a batch (``scenarios.parquet``): ids, groups, levers, chunk."""
    path = Path(out) / SCENARIOS
    if not path.exists():
        raise SpecError(f"{Path(out)} holds no {SCENARIOS}; is it a stress batch?", "out")
    frame: pd.DataFrame = pq.read_table(path).to_pandas()
    return frame
