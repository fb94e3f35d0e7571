"""A light ``import abs_engine`` (issue 15): heavy dependencies load only when used.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import abs_engine as ae

HEAVY = ("plotly", "dask", "distributed", "scipy", "xlsxwriter", "openpyxl")


def _loaded_after(code: str) -> set[str]:
    """Top-level packages and abs_engine modules in sys.modules after running ``code``."""
    probe = (
        f"{code}\nimport sys\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} | "
        "{m for m in sys.modules if m.startswith('abs_engine.')})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_abs_engine_loads_no_heavy_dependency() -> None:
    loaded = _loaded_after("import abs_engine")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert not any(m.startswith("abs_engine.reports") for m in loaded)
    assert "abs_engine.projection.engine" in loaded  # the core is there


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        ("import abs_engine as ae; ae.deal; ae.run", HEAVY),
        ("import abs_engine as ae; ae.stress.run_batch", ("plotly", "dask", "xlsxwriter")),
        ("import abs_engine as ae; ae.reports.run_metadata", ("plotly", "scipy", "xlsxwriter")),
        ("import abs_engine as ae; ae.surveil", ("plotly", "scipy", "dask", "xlsxwriter")),
    ],
)
def test_stages_load_their_heavy_dependencies_only_when_used(
    code: str, absent: tuple[str, ...]
) -> None:
    loaded = _loaded_after(code)
    assert loaded.isdisjoint(absent), sorted(loaded & set(absent))


def test_using_a_report_loads_plotly() -> None:
    """The probe can see a heavy import: the test above cannot pass vacuously."""
    assert "plotly" in _loaded_after("import abs_engine as ae; ae.reports.Report")


@pytest.mark.parametrize("package", [ae, ae.reports, ae.stress])
def test_every_public_name_resolves(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    for name in names:
        assert getattr(package, name) is not None, name
    assert set(names) <= set(dir(package))


def test_lazy_names_are_the_defining_objects() -> None:
    from abs_engine.analytics.breakeven import breakeven
    from abs_engine.grading import lifecycle
    from abs_engine.reports.html import Report
    from abs_engine.stress.report import stress_report

    assert ae.breakeven is breakeven
    assert ae.scorecard is lifecycle
    assert ae.report is ae.reports
    assert ae.reports.Report is Report
    assert ae.stress.stress_report is stress_report
    assert isinstance(ae.__version__, str)
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        ae.nonexistent  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        ae.reports.nonexistent  # type: ignore[attr-defined]  # noqa: B018
