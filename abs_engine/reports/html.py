"""A small document model for investor reports, rendered to one self-contained HTML page.

A :class:`Report` is a title and a sequence of :class:`Section` objects; a
section holds *blocks*: :class:`Heading`, :class:`Paragraph`,
:class:`KeyValue` (label / value rows), :class:`Table` (a DataFrame with a
format per column), :class:`Figure` (a plotly figure) and :class:`RawHtml`.
Everything is a frozen value; a section is built in one expression::

    Section("Capital stack", [
        Paragraph("Senior notes are 75% of the pool."),
        Table(tranches, formats={"coupon": "pct", "balance": "money0"}, caption="Tranches"),
        Figure(fig, caption="Note balances"),
    ])

``Report(...).render()`` returns one HTML string with the CSS inline and
plotly.js embedded exactly once, so the file opens offline; figures are
drawn from JSON data blocks by one script at the end of the page.
``Report.write(path)`` writes it atomically.

>>> import pandas as pd
>>> r = Report("Demo", [Section("Pool", [Table(pd.DataFrame({"balance": [1234.5]}))])])
>>> "1,234.50" in r.render(include_plotlyjs=False)
True
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from abs_engine.errors import SpecError
from abs_engine.io import atomic_path
from abs_engine.reports.format import (
    ColumnFormat,
    column_label,
    format_value,
    formats_for,
    infer_format,
    parse_format,
)
from abs_engine.reports.metadata import RunMetadata

__all__ = [
    "TEMPLATE",
    "Block",
    "Figure",
    "Heading",
    "KeyValue",
    "Paragraph",
    "RawHtml",
    "Report",
    "Section",
    "Table",
    "metadata_section",
    "plotly_js",
    "sections_from",
]

log = logging.getLogger(__name__)

#: Colours, in order: navy, teal, orange, grey, red, green, purple, sand, and four more,
#: so up to twelve series (the scenario charts' default) are told apart.
COLORWAY = (
    "#1f4e79",
    "#2a9d8f",
    "#e76f51",
    "#8d99ae",
    "#c1121f",
    "#6a994e",
    "#7b2cbf",
    "#e9c46a",
    "#264653",
    "#f4a261",
    "#56cfe1",
    "#9c6644",
)

#: Fonts of the report, Latin first; the CJK families (Debian's ``fonts-noto-cjk``, macOS's
#: PingFang, Windows' YaHei) draw Chinese deal, trigger and product names.
FONT_FAMILY = (
    'Helvetica, Arial, "DejaVu Sans", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", '
    '"PingFang SC", "Microsoft YaHei", sans-serif'
)

#: The plotly template of every report figure: small, white, thousands separators.
TEMPLATE = go.layout.Template(
    layout={
        "colorway": list(COLORWAY),
        "font": {
            "family": FONT_FAMILY,
            "size": 12,
            "color": "#222",
        },
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "separators": ".,",
        "hovermode": "x unified",
        "margin": {"l": 70, "r": 30, "t": 50, "b": 40},
        "title": {"x": 0.0, "xanchor": "left", "font": {"size": 14}},
        # Below the plot, under the x-axis title, whatever the figure's height.
        "legend": {
            "orientation": "h",
            "yref": "container",
            "y": 0.0,
            "yanchor": "bottom",
            "x": 0.0,
            "xanchor": "left",
        },
        "xaxis": {
            "showgrid": False,
            "linecolor": "#999",
            "ticks": "outside",
            "zeroline": False,
            "automargin": True,
        },
        "yaxis": {
            "gridcolor": "#e5e5e5",
            "linecolor": "#999",
            "zeroline": True,
            "zerolinecolor": "#bbb",
            "automargin": True,
            "tickformat": ",",
        },
    }
)

_PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle shipped with the plotly package (no network)."""
    from plotly.offline import get_plotlyjs

    js: str = get_plotlyjs()
    if "</script" in js.lower():  # pragma: no cover - a bundle never contains it
        js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    return js


# --- blocks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section (listed in the table of contents).

    Parameters
    ----------
    text : str
    level : int
        3 (default) or 4; the section title is level 2.
    """

    text: str
    level: int = 3

    def __post_init__(self) -> None:
        if self.level not in (3, 4):
            raise SpecError(f"heading level must be 3 or 4; got {self.level!r}", "Heading.level")


@dataclass(frozen=True)
class Paragraph:
    """Plain text (escaped); blank lines separate paragraphs.

    ``kind="note"`` renders it small and grey (footnotes, data caveats).
    """

    text: str
    kind: Literal["text", "note"] = "text"


@dataclass(frozen=True)
class RawHtml:
    """Trusted HTML inserted as is (no escaping): for the rare custom block."""

    markup: str


@dataclass(frozen=True)
class KeyValue:
    """Label / value rows, e.g. a deal summary or the pool summary.

    Parameters
    ----------
    rows : sequence of (label, value) or (label, value, format)
        Values are formatted with the unit (``CNY 1,234.00``, ``2.35 years``);
        the format is inferred from the label when not given (see
        :func:`~abs_engine.reports.format.infer_format`); text stays text.
    caption : str, optional
    """

    rows: Sequence[tuple[str, Any] | tuple[str, Any, str]]
    caption: str | None = None

    def __post_init__(self) -> None:
        rows = tuple(tuple(r) for r in self.rows)
        for i, r in enumerate(rows):
            if len(r) not in (2, 3):
                raise SpecError(
                    f"a row is (label, value) or (label, value, format); got {r!r}",
                    f"KeyValue.rows[{i}]",
                )
            if len(r) == 3:
                parse_format(r[2], f"KeyValue.rows[{i}]")
        object.__setattr__(self, "rows", rows)

    @classmethod
    def from_series(
        cls,
        series: pd.Series,
        formats: Mapping[str, str] | None = None,
        *,
        labels: Mapping[str, str] | None = None,
        caption: str | None = None,
    ) -> KeyValue:
        """Rows from a Series (index: names), formats given or inferred from the names."""
        given = dict(formats or {})
        rows: list[tuple[str, Any, str]] = []
        for key, value in series.items():
            name = str(key)
            spec = given.get(name) or _infer_scalar(name, value)
            rows.append((column_label(name, labels=labels), value, spec))
        return cls(rows, caption)


def _infer_scalar(name: str, value: Any) -> str:
    if isinstance(value, str) or value is None:
        return "text"
    if isinstance(value, bool):
        return "text"
    if isinstance(value, pd.Timestamp):
        return "date"
    return infer_format(name)


@dataclass(frozen=True, eq=False)
class Table:
    """A DataFrame shown with a format per column.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data; the index is shown as the first column unless it is a
        plain ``RangeIndex`` (or ``index=False``).
    formats : mapping of column name to format spec, optional
        ``"money"``, ``"pct"``, ``"int"``, ``"float2"``, ``"date"``,
        ``"text"``, ``"years"``, ... (see :mod:`abs_engine.reports.format`);
        columns not named are inferred from their names and dtypes.
    caption : str, optional
    labels : mapping of column name to header text, optional
        Defaults humanise the names (``wa_apr`` -> ``WA APR``) and add the
        unit (``Balance (CNY)``).
    index : bool, optional
        Show the index (default: unless it is a ``RangeIndex``).
    total_label : str or None
        Rows whose first cell (or any level of their index) equals it are
        highlighted as totals.
    collapsed : bool
        Render inside a closed ``<details>`` (long per-period tables).
    max_rows : int
        Guard against embedding huge tables; more rows raise.
    note : str, optional
        A footnote under the table.
    id : str, optional
        Anchor of the table (``tranche-table``), for links and browser tests.
    """

    frame: pd.DataFrame
    formats: Mapping[str, str | ColumnFormat] | None = None
    caption: str | None = None
    labels: Mapping[str, str] | None = None
    index: bool | None = None
    total_label: str | None = "Total"
    collapsed: bool = False
    max_rows: int = 2_000
    note: str | None = None
    id: str | None = None
    column_formats: Mapping[str, ColumnFormat] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.frame, pd.DataFrame):
            raise SpecError(
                f"Table takes a pandas DataFrame; got {type(self.frame).__name__}", "Table.frame"
            )
        if len(self.frame) > self.max_rows:
            raise SpecError(
                f"table {self.caption or ''!r} has {len(self.frame):,} rows, more than "
                f"max_rows={self.max_rows:,}; aggregate it (per year, percentiles) or raise "
                "max_rows",
                "Table.frame",
            )
        object.__setattr__(self, "column_formats", formats_for(self.frame, self.formats))

    @property
    def show_index(self) -> bool:
        """Whether the index is rendered as the first column."""
        if self.index is not None:
            return self.index
        return not isinstance(self.frame.index, pd.RangeIndex)


@dataclass(frozen=True, eq=False)
class Figure:
    """A plotly figure, drawn offline from the plotly.js embedded in the page.

    Parameters
    ----------
    figure : plotly.graph_objects.Figure
        The chart.  A copy is drawn, with the report's :data:`TEMPLATE` in
        place of plotly's default template (a figure given a template of its
        own keeps it; its layout settings win, except the height).
    caption : str, optional
    height : int
        Pixels (width follows the page); replaces the figure's own height.
    """

    figure: go.Figure
    caption: str | None = None
    height: int = 380

    def __post_init__(self) -> None:
        if not isinstance(self.figure, go.Figure):
            raise SpecError(
                f"Figure takes a plotly.graph_objects.Figure; got {type(self.figure).__name__}",
                "Figure.figure",
            )

    def to_json(self) -> str:
        """Data, layout and config for ``Plotly.newPlot``, as JSON safe inside a script tag."""
        fig = go.Figure(self.figure)
        default = pio.templates[pio.templates.default] if pio.templates.default else None
        if default is None or fig.layout.template == default:
            fig.layout.template = TEMPLATE
        fig.update_layout(height=self.height, autosize=True)
        spec = fig.to_plotly_json()
        text = pio.to_json(
            {
                "data": spec.get("data", []),
                "layout": spec.get("layout", {}),
                "config": _PLOTLY_CONFIG,
            },
            validate=False,
            remove_uids=True,
        )
        return _script_safe(text)


Block = Heading | Paragraph | RawHtml | KeyValue | Table | Figure


def _script_safe(json_text: str) -> str:
    # In JSON, < > & occur only inside strings, where \u escapes are equivalent.
    return json_text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass(frozen=True, eq=False)
class Section:
    """A titled part of the report: a sequence of blocks.

    Parameters
    ----------
    title : str
        Shown as a level-2 heading and in the table of contents.
    blocks : sequence of blocks
        :class:`Heading`, :class:`Paragraph`, :class:`KeyValue`, :class:`Table`,
        :class:`Figure`, :class:`RawHtml`, in order.
    id : str, optional
        Anchor (default: from the title); made unique when rendered.
    intro : str, optional
        A paragraph right under the title.
    """

    title: str
    blocks: Sequence[Block] = ()
    id: str | None = None
    intro: str | None = None

    def __post_init__(self) -> None:
        blocks = tuple(self.blocks)
        for i, b in enumerate(blocks):
            if not isinstance(b, Heading | Paragraph | RawHtml | KeyValue | Table | Figure):
                raise SpecError(
                    f"a section block must be a Heading, Paragraph, KeyValue, Table, Figure or "
                    f"RawHtml; got {type(b).__name__}",
                    f"Section({self.title!r}).blocks[{i}]",
                )
        object.__setattr__(self, "blocks", blocks)

    def extended(self, *blocks: Block) -> Section:
        """A copy with more blocks at the end."""
        return replace(self, blocks=(*self.blocks, *blocks))

    @property
    def figures(self) -> tuple[Figure, ...]:
        """The figures of the section."""
        return tuple(b for b in self.blocks if isinstance(b, Figure))

    @property
    def tables(self) -> tuple[Table, ...]:
        """The tables of the section."""
        return tuple(b for b in self.blocks if isinstance(b, Table))


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Report:
    """An investor report: a title, sections and the run's metadata.

    Parameters
    ----------
    title : str
    sections : sequence of Section
    subtitle : str, optional
        E.g. the deal name and the cut-off date.
    currency : str, optional
        Currency code named in money headers and values (``CNY``).
    metadata : RunMetadata, optional
        Stamped under the title and listed in a last "Run metadata" section
        (with the full effective spec, when it has one).
    """

    title: str
    sections: Sequence[Section] = ()
    subtitle: str | None = None
    currency: str | None = None
    metadata: RunMetadata | None = None

    def __post_init__(self) -> None:
        sections = tuple(self.sections)
        for i, s in enumerate(sections):
            if not isinstance(s, Section):
                raise SpecError(
                    f"expected a Section; got {type(s).__name__}", f"Report.sections[{i}]"
                )
        object.__setattr__(self, "sections", sections)

    def with_sections(self, *sections: Section) -> Report:
        """A copy with more sections at the end."""
        return replace(self, sections=(*self.sections, *sections))

    @property
    def figures(self) -> tuple[Figure, ...]:
        """Every figure, in document order."""
        return tuple(f for s in self.sections for f in s.figures)

    def render(self, *, include_plotlyjs: bool = True) -> str:
        """The whole report as one HTML document.

        Parameters
        ----------
        include_plotlyjs : bool
            Embed plotly.js (default).  ``False`` is for tests and previews
            only: the charts then need plotly.js from elsewhere.
        """
        t0 = time.perf_counter()
        out = _Renderer(self).document(include_plotlyjs)
        log.info(
            "rendered report %r: %d sections, %d figures, %.1f MB in %.2fs",
            self.title,
            len(self.sections),
            len(self.figures),
            len(out) / 1e6,
            time.perf_counter() - t0,
        )
        return out

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Render and write the report atomically (UTF-8); returns the path."""
        target = Path(path)
        text = self.render()
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return target


_CSS = """
:root { --ink: #222; --muted: #666; --rule: #d9d9d9; --head: #1f4e79; --band: #f6f8fa; }
* { box-sizing: border-box; }
body { font-family: __FONT_FAMILY__; color: var(--ink);
       margin: 0 auto; padding: 24px 32px 64px; max-width: 1280px; line-height: 1.4;
       font-size: 14px; background: white; }
header.report-head { border-bottom: 3px solid var(--head); margin-bottom: 16px; }
header.report-head h1 { color: var(--head); font-size: 26px; margin: 0 0 4px; }
header.report-head .subtitle { font-size: 16px; color: var(--ink); margin: 0 0 6px; }
header.report-head .stamp { font-size: 11px; color: var(--muted); margin: 0 0 10px; }
nav.toc { background: var(--band); border: 1px solid var(--rule); padding: 10px 18px;
          margin: 0 0 24px; font-size: 13px; }
nav.toc h2 { font-size: 14px; margin: 0 0 4px; border: 0; color: var(--ink); }
nav.toc ol { margin: 0; padding-left: 4px; list-style: none; }
nav.toc ol ol { list-style: disc; padding-left: 28px; }
nav.toc a { color: var(--head); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
section.report-section { margin-top: 28px; }
h2 { color: var(--head); font-size: 20px; border-bottom: 1px solid var(--rule);
     padding-bottom: 4px; margin: 0 0 12px; }
h3 { font-size: 16px; margin: 20px 0 8px; } h4 { font-size: 14px; margin: 16px 0 6px; }
p.note, .table-note, .figure-caption { color: var(--muted); font-size: 12px; }
.table-wrap { overflow-x: auto; margin: 6px 0 18px; }
table.data { border-collapse: collapse; font-size: 12.5px; min-width: 40%; }
table.data caption { caption-side: top; text-align: left; font-weight: bold;
                     padding: 4px 0; color: var(--ink); }
table.data th, table.data td { padding: 4px 10px; border-bottom: 1px solid var(--rule); }
table.data thead th { background: var(--head); color: white; font-weight: 600;
                      vertical-align: bottom; white-space: normal; min-width: 5em; }
table.data th.num { text-align: right; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.data td.text, table.data th.text { text-align: left; }
table.data tbody tr:nth-child(even) { background: var(--band); }
table.data tbody tr.total td, table.data tbody tr.total th { font-weight: bold;
                      border-top: 2px solid var(--ink); background: #eef2f7; }
table.data tbody th { text-align: left; font-weight: normal; white-space: nowrap; }
table.kv td.label { text-align: left; color: var(--muted); padding-right: 24px; }
table.kv td.value { text-align: right; font-variant-numeric: tabular-nums; }
details { margin: 6px 0 18px; } summary { cursor: pointer; color: var(--head); }
.figure { margin: 8px 0 22px; break-inside: avoid; page-break-inside: avoid; }
.figure .plot { width: 100%; }
pre.spec { background: var(--band); border: 1px solid var(--rule); padding: 10px;
           font-size: 11px; overflow-x: auto; max-height: 480px; }
footer.report-foot { margin-top: 40px; border-top: 1px solid var(--rule); color: var(--muted);
                     font-size: 11px; padding-top: 8px; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { max-width: none; padding: 0; font-size: 11px; }
  nav.toc { break-after: page; page-break-after: always; }
  section.report-section { break-before: page; page-break-before: always; }
  h2, h3, h4, caption { break-after: avoid; page-break-after: avoid; }
  table.data { break-inside: auto; } table.data tr { break-inside: avoid; }
  table.data thead { display: table-header-group; }
  .table-wrap { overflow: visible; } .modebar-container { display: none !important; }
  a { color: inherit; text-decoration: none; }
}
""".replace("__FONT_FAMILY__", FONT_FAMILY)

# Draws every figure from its JSON block; flags each div once plotly has drawn it.
_DRAW_JS = """
(function () {
  "use strict";
  function draw() {
    var divs = document.querySelectorAll("div.plot[data-figure]");
    divs.forEach(function (div) {
      var spec = JSON.parse(document.getElementById(div.dataset.figure).textContent);
      Plotly.newPlot(div, spec.data, spec.layout, spec.config).then(function () {
        div.setAttribute("data-rendered", "true");
      }).catch(function (err) {
        console.error("figure " + div.id + " failed to render: " + err);
      });
    });
  }
  if (typeof Plotly === "undefined") {
    console.error("plotly.js is not loaded; figures cannot be drawn");
    return;
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else { draw(); }
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
    document.querySelectorAll("div.plot[data-rendered]").forEach(function (div) {
      Plotly.Plots.resize(div);
    });
  });
})();
"""


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "section"


class _Renderer:
    """Turns a Report into HTML; keeps the ids unique and counts figures."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.ids: set[str] = set()
        self.n_figures = 0

    def unique(self, base: str) -> str:
        slug = _slug(base)
        candidate, i = slug, 2
        while candidate in self.ids:
            candidate = f"{slug}-{i}"
            i += 1
        self.ids.add(candidate)
        return candidate

    # -- document --------------------------------------------------------------------------

    def document(self, include_plotlyjs: bool) -> str:
        r = self.report
        sections = list(r.sections)
        if r.metadata is not None:
            sections.append(metadata_section(r.metadata))
        toc: list[tuple[str, str, list[tuple[str, str]]]] = []
        body: list[str] = []
        for n, section in enumerate(sections, start=1):
            sid = self.unique(section.id or section.title)
            subs: list[tuple[str, str]] = []
            body.append(self.section(section, sid, n, subs))
            toc.append((sid, f"{n}. {section.title}", subs))
        needs_js = self.n_figures > 0
        head = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta name="generator" content="abs_engine {_e(_version(r))}">',
            f"<title>{_e(r.title)}</title>",
            f"<style>{_CSS}</style>",
        ]
        if needs_js and include_plotlyjs:
            head.append(f'<script type="text/javascript">{plotly_js()}</script>')
        head.append("</head>")
        parts = [*head, "<body>", self.header(), self.toc(toc), *body, self.footer()]
        if needs_js:
            parts.append(f"<script>{_DRAW_JS}</script>")
        parts += ["</body>", "</html>", ""]
        return "\n".join(parts)

    def header(self) -> str:
        r = self.report
        out = ['<header class="report-head">', f"<h1>{_e(r.title)}</h1>"]
        if r.subtitle:
            out.append(f'<p class="subtitle">{_e(r.subtitle)}</p>')
        stamp = r.metadata.short() if r.metadata is not None else ""
        if r.currency:
            stamp = f"Amounts in {r.currency}" + (f" · {stamp}" if stamp else "")
        if stamp:
            out.append(f'<p class="stamp">{_e(stamp)}</p>')
        out.append("</header>")
        return "\n".join(out)

    def toc(self, entries: list[tuple[str, str, list[tuple[str, str]]]]) -> str:
        if not entries:
            return ""
        out = ['<nav class="toc">', "<h2>Contents</h2>", "<ol>"]
        for sid, title, subs in entries:
            out.append(f'<li><a href="#{sid}">{_e(title)}</a>')
            if subs:
                out.append("<ol>")
                out += [f'<li><a href="#{hid}">{_e(text)}</a></li>' for hid, text in subs]
                out.append("</ol>")
            out.append("</li>")
        out += ["</ol>", "</nav>"]
        return "\n".join(out)

    def footer(self) -> str:
        r = self.report
        text = r.metadata.short() if r.metadata is not None else f"abs_engine {_version(r)}"
        return f'<footer class="report-foot">{_e(r.title)} · {_e(text)}</footer>'

    # -- sections and blocks ------------------------------------------------------------------

    def section(self, s: Section, sid: str, n: int, subs: list[tuple[str, str]]) -> str:
        out = [f'<section class="report-section" id="{sid}">', f"<h2>{n}. {_e(s.title)}</h2>"]
        if s.intro:
            out.append(self.paragraph(Paragraph(s.intro)))
        for block in s.blocks:
            if isinstance(block, Heading):
                hid = self.unique(f"{sid}-{block.text}")
                if block.level == 3:
                    subs.append((hid, block.text))
                out.append(f'<h{block.level} id="{hid}">{_e(block.text)}</h{block.level}>')
            elif isinstance(block, Paragraph):
                out.append(self.paragraph(block))
            elif isinstance(block, RawHtml):
                out.append(block.markup)
            elif isinstance(block, KeyValue):
                out.append(self.key_value(block))
            elif isinstance(block, Table):
                out.append(self.table(block))
            else:
                out.append(self.figure(block))
        out.append("</section>")
        return "\n".join(out)

    def paragraph(self, p: Paragraph) -> str:
        cls = ' class="note"' if p.kind == "note" else ""
        paras = [t.strip() for t in re.split(r"\n\s*\n", p.text) if t.strip()]
        return "\n".join(f"<p{cls}>{_e(t)}</p>" for t in paras)

    def key_value(self, kv: KeyValue) -> str:
        cur = self.report.currency
        out = ['<div class="table-wrap"><table class="data kv">']
        if kv.caption:
            out.append(f"<caption>{_e(kv.caption)}</caption>")
        out.append("<tbody>")
        for row in kv.rows:
            label, value = row[0], row[1]
            spec = row[2] if len(row) == 3 else _infer_scalar(str(label), value)
            text = format_value(value, spec, currency=cur, unit=True)
            out.append(
                f'<tr><td class="label">{_e(str(label))}</td><td class="value">{_e(text)}</td></tr>'
            )
        out.append("</tbody></table></div>")
        return "\n".join(out)

    def table(self, t: Table) -> str:
        cur = self.report.currency
        frame = t.frame
        fmts = t.column_formats
        cols = [str(c) for c in frame.columns]
        show_index = t.show_index
        head = ["<thead><tr>"]
        if show_index:
            names = [n for n in frame.index.names if n is not None]
            label = " / ".join(column_label(str(n), labels=t.labels) for n in names)
            head.append(f'<th class="text" scope="col">{_e(label)}</th>')
        for c in cols:
            f = fmts[c]
            cls = "num" if f.numeric else "text"
            head.append(
                f'<th class="{cls}" scope="col">'
                f"{_e(column_label(c, f, currency=cur, labels=t.labels))}</th>"
            )
        head.append("</tr></thead>")
        # Format whole columns at once: one pass per column, not per cell.
        formatted = [
            [_e(format_value(v, fmts[c], currency=cur)) for v in frame.iloc[:, j].tolist()]
            for j, c in enumerate(cols)
        ]
        classes = ["num" if fmts[c].numeric else "text" for c in cols]
        index_text = [_index_text(k) for k in frame.index] if show_index else []
        rows = ["<tbody>"]
        for i in range(len(frame)):
            if show_index:
                key = frame.index[i]
                parts = key if isinstance(key, tuple) else (key,)
                total = any(str(k).strip() == t.total_label for k in parts)
            else:
                total = bool(cols) and formatted[0][i].strip() == _e(str(t.total_label))
            rows.append('<tr class="total">' if total else "<tr>")
            if show_index:
                rows.append(f'<th scope="row">{_e(index_text[i])}</th>')
            rows += [f'<td class="{classes[j]}">{formatted[j][i]}</td>' for j in range(len(cols))]
            rows.append("</tr>")
        rows.append("</tbody>")
        caption = f"<caption>{_e(t.caption)}</caption>" if t.caption and not t.collapsed else ""
        anchor = f' id="{self.unique(t.id)}"' if t.id else ""
        opening = f'<div class="table-wrap"><table class="data"{anchor}>'
        table_html = "".join([opening, caption, *head, *rows, "</table></div>"])
        if t.note:
            table_html += f'<p class="table-note">{_e(t.note)}</p>'
        if t.collapsed:
            summary = t.caption or "Table"
            return (
                f"<details><summary>{_e(summary)} ({len(frame):,} rows)</summary>"
                f"{table_html}</details>"
            )
        return table_html

    def figure(self, f: Figure) -> str:
        self.n_figures += 1
        fid = self.unique(f"figure-{self.n_figures}")
        data_id = f"{fid}-data"
        caption = f'<p class="figure-caption">{_e(f.caption)}</p>' if f.caption else ""
        return (
            f'<div class="figure" id="{fid}-box">'
            f'<div class="plot" id="{fid}" data-figure="{data_id}" '
            f'style="height:{int(f.height)}px"></div>'
            f"{caption}"
            f'<script type="application/json" id="{data_id}">{f.to_json()}</script>'
            "</div>"
        )


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _index_text(key: Any) -> str:
    if isinstance(key, tuple):
        return " / ".join(_index_text(k) for k in key)
    if isinstance(key, pd.Timestamp):
        return key.strftime("%Y-%m-%d")
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def _version(report: Report) -> str:
    if report.metadata is not None:
        return report.metadata.package_version
    from abs_engine.reports.metadata import package_version

    return package_version()


def metadata_section(meta: RunMetadata, title: str = "Run metadata") -> Section:
    """The last section of every report: what produced it, and the effective spec."""
    labels = {
        "package_version": "abs_engine version",
        "git_commit": "Git commit",
        "spec_hash": "Spec hash (SHA-256)",
        "seed": "Random seed",
        "created": "Created (UTC)",
        "python": "Python",
        "numpy": "NumPy",
        "pandas": "pandas",
        "platform": "Platform",
    }
    rows = [(labels.get(k, k), v, "text") for k, v in meta.to_dict().items()]
    blocks: list[Block] = [KeyValue(rows)]
    if meta.spec is not None:
        from abs_engine.reports.metadata import _plain

        spec_text = json.dumps(_plain(meta.spec, ""), indent=2, sort_keys=True, ensure_ascii=False)
        blocks.append(
            RawHtml(
                "<details><summary>Effective spec (JSON)</summary>"
                f'<pre class="spec">{_e(spec_text)}</pre></details>'
            )
        )
    return Section(title, blocks, id="run-metadata")


def sections_from(items: Iterable[Section | None]) -> tuple[Section, ...]:
    """The sections that are not ``None`` (builders return ``None`` when they have nothing)."""
    return tuple(s for s in items if s is not None)
