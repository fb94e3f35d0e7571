"""Investor reports: one self-contained HTML page and a formatted Excel workbook.

The document model (:class:`Report`, :class:`Section` and the blocks
:class:`Heading`, :class:`Paragraph`, :class:`KeyValue`, :class:`Table`,
:class:`Figure`, :class:`RawHtml`) renders to one HTML string with the CSS
inline and plotly.js embedded once, so the report opens offline.
:func:`write_workbook` writes DataFrames as formatted sheets.  Display
formats (money, percentages, dates, years) live in
:mod:`abs_engine.reports.format`; run metadata (version, commit, spec hash,
seed) in :mod:`abs_engine.reports.metadata`; the privacy check of outputs in
:mod:`abs_engine.reports.privacy`.  Section builders for the collateral are
in :mod:`abs_engine.reports.pool_sections`, for a deal in
:mod:`abs_engine.reports.deal_sections`; :func:`write` puts a run's report,
workbook, cash flows, ledger, summary and metadata in one directory
(``ae.report.write(result, out_dir)``).

>>> import pandas as pd
>>> from abs_engine import reports
>>> table = reports.Table(pd.DataFrame({"balance": [1e6], "pct_balance": [1.0]}))
>>> html = reports.Report("Demo", [reports.Section("Pool", [table])], currency="CNY").render()
>>> "1,000,000.00" in html and "100.00%" in html and "Balance (CNY)" in html
True
"""

from typing import TYPE_CHECKING

from abs_engine._lazy import attach

if TYPE_CHECKING:  # loaded on first use (plotly and xlsxwriter only with the modules needing them)
    from abs_engine.reports.excel import Sheet, write_workbook
    from abs_engine.reports.format import column_label, format_value, infer_format, parse_format
    from abs_engine.reports.html import (
        TEMPLATE,
        Figure,
        Heading,
        KeyValue,
        Paragraph,
        RawHtml,
        Report,
        Section,
        Table,
    )
    from abs_engine.reports.metadata import RunMetadata, git_commit, run_metadata, spec_hash
    from abs_engine.reports.pool_sections import (
        assumptions_section,
        collateral_section,
        early_warning_section,
        pool_report,
        pool_sheets,
        scenario_section,
        spec_of,
        strats_section,
    )
    from abs_engine.reports.privacy import assert_no_identifiers, find_identifiers
    from abs_engine.reports.run import FILES, build_report, write
    from abs_engine.reports.scorecard import (
        stability_blocks,
        stability_section,
        validation_report,
        write_validation_report,
    )

__getattr__, __dir__ = attach(
    __name__,
    {
        "abs_engine.reports.excel": (
            "Sheet",
            "write_workbook",
        ),
        "abs_engine.reports.format": (
            "column_label",
            "format_value",
            "infer_format",
            "parse_format",
        ),
        "abs_engine.reports.html": (
            "TEMPLATE",
            "Figure",
            "Heading",
            "KeyValue",
            "Paragraph",
            "RawHtml",
            "Report",
            "Section",
            "Table",
        ),
        "abs_engine.reports.metadata": (
            "RunMetadata",
            "git_commit",
            "run_metadata",
            "spec_hash",
        ),
        "abs_engine.reports.pool_sections": (
            "assumptions_section",
            "collateral_section",
            "early_warning_section",
            "pool_report",
            "pool_sheets",
            "scenario_section",
            "spec_of",
            "strats_section",
        ),
        "abs_engine.reports.privacy": (
            "assert_no_identifiers",
            "find_identifiers",
        ),
        "abs_engine.reports.run": (
            "FILES",
            "build_report",
            "write",
        ),
        "abs_engine.reports.scorecard": (
            "stability_blocks",
            "stability_section",
            "validation_report",
            "write_validation_report",
        ),
    },
)

__all__ = [
    "FILES",
    "TEMPLATE",
    "Figure",
    "Heading",
    "KeyValue",
    "Paragraph",
    "RawHtml",
    "Report",
    "RunMetadata",
    "Section",
    "Sheet",
    "Table",
    "assert_no_identifiers",
    "assumptions_section",
    "build_report",
    "collateral_section",
    "column_label",
    "early_warning_section",
    "find_identifiers",
    "format_value",
    "git_commit",
    "infer_format",
    "parse_format",
    "pool_report",
    "pool_sheets",
    "run_metadata",
    "scenario_section",
    "spec_hash",
    "spec_of",
    "stability_blocks",
    "stability_section",
    "strats_section",
    "validation_report",
    "write",
    "write_validation_report",
    "write_workbook",
]
