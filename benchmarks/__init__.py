"""Benchmarks: ``make bench`` (``python -m benchmarks [name ...]``).

Each ``bench_*.py`` module defines ``main() -> None`` and prints ratios
against a reference measured in the same run; record the figures in
``benchmarks/RESULTS.md``.
"""
