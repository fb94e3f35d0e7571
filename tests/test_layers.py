"""A lower pipeline stage never imports a higher one (ARCHITECTURE.md, the package table).

Every ``import`` and ``from ... import`` in the package's source is read with ``ast``, those
inside functions and ``TYPE_CHECKING`` blocks included: a lazy import upward is still a
dependency upward.
"""

from __future__ import annotations

import ast
from pathlib import Path

import abs_engine

PACKAGE = Path(abs_engine.__file__).parent

#: Stages in pipeline order; a module may import its own stage and lower ones.
STAGES = {
    "pool": 1,
    "curves": 1,
    "grading": 2,
    "projection": 2,
    "calibrate": 2,
    "deal": 3,
    "analytics": 4,
    "policy": 5,
    "reports": 6,
    "stress": 7,  # its report is built with the reports document model
    "surveillance": 8,
    "cli": 9,
}


def _stage(parts: list[str]) -> str | None:
    return parts[0] if parts and parts[0] in STAGES else None


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
    return [(n, m) for n, m in out if m.startswith("abs_engine.")]


def test_no_stage_imports_a_higher_one() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("").parts
        own = _stage(list(rel))
        if own is None:  # the shared base (errors, io, ...) is checked below
            continue
        for line, module in _imports(path):
            target = _stage(module.split(".")[1:])
            if target is None or target == own:
                continue
            if STAGES[target] > STAGES[own]:
                problems.append(f"{'/'.join(rel)}.py:{line} ({own}) imports {module} ({target})")
    assert problems == []


def test_the_shared_base_imports_no_stage() -> None:
    problems = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue  # the namespace re-exports every stage lazily
        for line, module in _imports(path):
            if _stage(module.split(".")[1:]) is not None:
                problems.append(f"{path.name}:{line} imports {module}")
    assert problems == []
