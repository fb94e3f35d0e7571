"""Progress of long operations: a bar on a terminal, a log line every few seconds otherwise.

The library never prints: without a terminal, progress goes to the
``abs_engine.progress`` logger at INFO, at most one line every
``interval`` seconds (and one at the end), which a batch job's log keeps.
The command line shows that logger's lines on stderr.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

__all__ = ["LOGGER", "Progress", "is_progress_line"]

#: Name of the logger that carries progress lines.
LOGGER = "abs_engine.progress"
log = logging.getLogger(LOGGER)

_LINE = re.compile(r"^[^:]+: \d+/\d+ \w+ \(\d+%\)")


def is_progress_line(text: str) -> bool:
    """Whether a line of stderr is a progress line (``stress: 3/10 chunks (30%), ...``).

    >>> is_progress_line("abs-engine run: 4/7 stages (57%), workbook, 3.1 s")
    True
    >>> is_progress_line("abs-engine run: error: tape not found")
    False
    """
    return bool(_LINE.match(text))


class Progress:
    """Count units of work done, shown as a bar or as periodic log lines.

    Parameters
    ----------
    total : int
        Units of work.
    desc : str
        What is counted ("stress", "abs-engine run").
    unit : str
        Name of a unit ("chunk", "stage").
    show : bool or None
        True: a bar on stderr; False: nothing; None (default): a bar when
        stderr is a terminal, else log lines.
    initial : int
        Units already done (a resumed batch).
    interval : float
        Least seconds between two log lines.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        unit: str = "step",
        *,
        show: bool | None = None,
        initial: int = 0,
        interval: float = 5.0,
    ) -> None:
        self.total = int(total)
        self.desc = desc
        self.unit = unit
        self.done = int(initial)
        self.interval = float(interval)
        self.stage = ""
        self._t0 = time.monotonic()
        self._last = self._t0
        self._bar: Any = None
        self._lines = False
        self._reported = -1
        if show is None:
            show = sys.stderr.isatty()
            self._lines = not show
        if show:
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total,
                initial=self.done,
                desc=desc,
                unit=unit,
                file=sys.stderr,
                dynamic_ncols=True,
                leave=False,
            )

    def update(self, n: int = 1, stage: str | None = None) -> None:
        """Record ``n`` more units done (and optionally what is running now)."""
        self.done += n
        if stage is not None:
            self.stage = stage
        if self._bar is not None:
            if stage is not None:
                self._bar.set_description(f"{self.desc}: {stage}")
            self._bar.update(n)
        elif self._lines:
            now = time.monotonic()
            if now - self._last >= self.interval:
                self._last = now
                self._line(now)

    def set_postfix(self, refresh: bool = False, **values: Any) -> None:
        """Extra figures for the bar (``failed=2``); ignored by log lines."""
        if self._bar is not None:
            self._bar.set_postfix(refresh=refresh, **values)

    def _line(self, now: float) -> None:
        self._reported = self.done
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        stage = f", {self.stage}" if self.stage else ""
        log.info(
            "%s: %d/%d %ss%s%s, %.1f s",
            self.desc,
            self.done,
            self.total,
            self.unit,
            share,
            stage,
            now - self._t0,
        )

    def close(self) -> None:
        """Close the bar, or log the final line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._lines:
            self._lines = False
            if self._reported != self.done:
                self._line(time.monotonic())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            self._lines = False  # the error says what happened; no "n/N done" line after it
        self.close()
