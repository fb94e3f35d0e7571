"""The README's Python snippets run as written, twice, from a directory outside the checkout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _snippets() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Python API") : text.index("## Command line")]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 2
    return "\n".join(blocks)


@pytest.mark.slow
def test_readme_python_runs_twice_in_a_fresh_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = compile(_snippets(), str(README), "exec")
    for _ in range(2):  # the second run replaces the first run's output directory
        exec(code, {"__name__": "__readme__"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs"]
    assert (tmp_path / "outputs" / "my-run" / "report.html").is_file()
    assert "senior" in capsys.readouterr().out
