"""Chinese text renders in the reports (issue 14, item 5).

Deal, trigger and product names are often Chinese (京东白条, 加速清偿).  The report's
font stack names CJK families (Debian's ``fonts-noto-cjk``, which ``.ci/run``
installs); in the browser two different characters must draw different glyphs, and
neither may be the "missing glyph" box an unassigned code point draws.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

from abs_engine import reports
from abs_engine.reports.html import FONT_FAMILY

pytestmark = pytest.mark.browser

GLYPHS = """(font) => {
  const c = document.createElement('canvas');
  const draw = (ch) => {
    c.width = 48; c.height = 48;
    const ctx = c.getContext('2d');
    ctx.font = '36px ' + font;
    ctx.fillText(ch, 4, 40);
    return Array.from(ctx.getImageData(0, 0, 48, 48).data).join(',');
  };
  return [draw('京'), draw('东'), draw('\\u{0378}'), draw('\\u{0379}')];
}"""


def test_chinese_names_draw_real_glyphs(tmp_path: Path, open_page: Any) -> None:
    fig = go.Figure(go.Scatter(x=[1, 2], y=[0.01, 0.02], name="累计违约率"))
    fig.update_layout(title="触发事件: 加速清偿")
    report = reports.Report(
        "京东白条 2015 — 受托报告",
        [reports.Section("触发事件", [reports.Paragraph("加速清偿"), reports.Figure(fig)])],
    )
    opened = open_page(report.write(tmp_path / "cjk.html"))
    page = opened.page
    assert opened.console_errors == []
    body_font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Noto Sans CJK SC" in body_font
    title_font = page.eval_on_selector("div.plot text.gtitle", "t => t.style.fontFamily")
    assert "Noto Sans CJK SC" in title_font
    for font in (body_font, FONT_FAMILY):
        jing, dong, tofu_a, tofu_b = page.evaluate(GLYPHS, font)
        assert tofu_a == tofu_b  # unassigned code points: the same missing-glyph box
        assert jing != dong, (
            "Chinese characters draw the same glyph: no CJK font is installed "
            "(Debian: apt-get install fonts-noto-cjk)"
        )
        assert jing != tofu_a
    assert page.inner_text("header.report-head h1") == "京东白条 2015 — 受托报告"
