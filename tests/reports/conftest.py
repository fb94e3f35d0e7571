"""Fixtures for the report tests: a headless Chromium, and a sample report written once.

The ``browser`` fixture drives Debian's Chromium (``/usr/bin/chromium``, or
``chromium-browser``; ``ABS_ENGINE_CHROMIUM`` names another executable) with
playwright's Python package, launched on that executable: playwright's own
browser download is never used.  When no browser (or no playwright) is found
the test is skipped with the reason, except under ``CI=true``, where it fails:
CI must run the browser tests (``.ci/run`` installs chromium).

Screenshots go to ``test-artifacts/`` at the repository root (git-ignored), or
to ``ABS_ENGINE_ARTIFACTS``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import pytest

import abs_engine as ae
from abs_engine import reports
from abs_engine.reports import pool_sections as ps

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ENV = "ABS_ENGINE_CHROMIUM"
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
#: Flags known to work on these machines (closed network, root, no GPU); playwright
#: adds --headless and a fresh temporary --user-data-dir itself.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Every figure drawn: as many plot divs flagged rendered as there are figures.
ALL_DRAWN = (
    "document.querySelectorAll('div.plot[data-figure]').length === "
    "document.querySelectorAll('div.plot[data-rendered]').length"
)


def find_chromium() -> str | None:
    """The Chromium executable to use, or None."""
    override = os.environ.get(CHROMIUM_ENV, "").strip()
    candidates = (override,) if override else CANDIDATES
    for c in candidates:
        if Path(c).is_file() and os.access(c, os.X_OK):
            return c
    return None


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{reason}; with CI=true the browser tests must run (.ci/run installs Debian's "
            "chromium with apt-get)",
            pytrace=False,
        )
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium (playwright ``Browser``) for the whole session."""
    exe = find_chromium()
    if exe is None:
        where = os.environ.get(CHROMIUM_ENV) or " or ".join(CANDIDATES)
        _unavailable(
            f"no Chromium executable at {where} (install Debian's chromium, or set {CHROMIUM_ENV})"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class OpenedPage:
    """A page opened from a file, with what the browser reported while loading it."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    load_seconds: float = 0.0

    def screenshot(self, name: str) -> Path:
        """Full-page PNG under test-artifacts/ (or $ABS_ENGINE_ARTIFACTS)."""
        folder = Path(os.environ.get("ABS_ENGINE_ARTIFACTS", ROOT / "test-artifacts"))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _open(browser: Any, path: Path, contexts: list[Any], timeout_ms: int = 30_000) -> OpenedPage:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    contexts.append(context)
    page = context.new_page()
    opened = OpenedPage(page)
    page.on(
        "console",
        lambda m: opened.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: opened.page_errors.append(str(e)))
    page.on("request", lambda r: opened.requests.append(r.url))
    t0 = time.perf_counter()
    page.goto(Path(path).resolve().as_uri(), wait_until="load")
    page.wait_for_function(ALL_DRAWN, timeout=timeout_ms)
    opened.load_seconds = time.perf_counter() - t0
    return opened


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[Path], OpenedPage]]:
    """Open a local HTML file in a fresh context; wait until every figure is drawn."""
    contexts: list[Any] = []
    yield lambda path: _open(browser, path, contexts)
    for c in contexts:
        c.close()


@pytest.fixture(scope="session")
def sample_page(browser: Any, sample_outputs: SampleOutputs) -> Iterator[OpenedPage]:
    """The sample report opened once (tests that change the page restore it)."""
    contexts: list[Any] = []
    yield _open(browser, sample_outputs.html, contexts)
    for c in contexts:
        c.close()


# --- the sample report, built once per session ----------------------------------------------


@dataclass(frozen=True)
class SampleOutputs:
    """The end-to-end example: pool, projection, report and the files written."""

    tape: pd.DataFrame
    pool: ae.Pool
    assumptions: ae.GradedAssumptions | ae.Assumptions
    scenarios: ae.ScenarioSet
    cf: ae.PoolCashflows
    metadata: reports.RunMetadata
    report: reports.Report
    sheets: list[reports.Sheet]
    html: Path
    xlsx: Path
    summary_csv: Path
    render_seconds: float


@pytest.fixture(scope="session")
def sample_outputs(tmp_path_factory: pytest.TempPathFactory) -> SampleOutputs:
    """sample_pool(n=3000, seed=3) under the sample assumptions and a 3x3 grid, by grade."""
    out = tmp_path_factory.mktemp("report")
    tape = ae.sample_pool(n=3000, seed=3)
    pool = ae.Pool.from_frame(tape)
    assumptions = ae.load_assumptions(ae.samples.path("sample_assumptions"))
    grid = ae.ScenarioSet.grid(default_mult=[1, 2, 4], prepay_mult=[1, 0.5, 1.5])
    cf = ae.project(pool, assumptions, grid, by="grade")
    meta = reports.run_metadata(
        ps.spec_of(assumptions, grid, tape={"generator": "sample_pool", "n": 3000, "seed": 3}),
        seed=3,
    )
    t0 = time.perf_counter()
    report = ps.pool_report(
        pool,
        cf,
        assumptions=assumptions,
        scenarios=grid,
        title="Sample consumer ABS - collateral report",
        subtitle="Sample pool (3,000 receivables), cut-off 2015-09-30",
        currency="CNY",
        metadata=meta,
    )
    html = report.write(out / "report.html")
    render_seconds = time.perf_counter() - t0
    sheets = ps.pool_sheets(pool, cf, assumptions=assumptions, scenarios=grid)
    xlsx = reports.write_workbook(
        out / "report.xlsx", sheets, metadata=meta, currency="CNY", title=report.title
    )
    summary_csv = out / "summary.csv"
    sheets[0].frame.to_csv(summary_csv, index=False)
    return SampleOutputs(
        tape,
        pool,
        assumptions,
        grid,
        cf,
        meta,
        report,
        sheets,
        html,
        xlsx,
        summary_csv,
        render_seconds,
    )
