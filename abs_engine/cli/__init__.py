"""The ``abs-engine`` command line (also ``python -m abs_engine``).

Bad input (broken tape, invalid spec, missing file) prints one message naming
what and where and exits with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from abs_engine.cli import calibrate as _calibrate  # noqa: F401  (registers calibrate, synthetic-history)
from abs_engine.cli import commands
from abs_engine.cli import deal_cmds as _deal_cmds  # noqa: F401  (registers run, breakeven, size)
from abs_engine.cli import grade as _grade  # noqa: F401  (registers `grade`)
from abs_engine.cli import scorecard as _scorecard  # noqa: F401  (registers `scorecard fit|validate|psi`)
from abs_engine.cli import stress as _stress  # noqa: F401  (registers `stress`)
from abs_engine.cli import surveil as _surveil  # noqa: F401  (registers surveil, servicer-history)
from abs_engine.errors import AbsError

__all__ = ["build_parser", "main"]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with our exit status for usage errors (2, like bad input)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    from abs_engine import __version__

    parser = _Parser(
        prog="abs-engine",
        description="Asset-securitisation cash-flow analytics for graded consumer receivables.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"abs_engine {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for register in commands.REGISTRY:
        register(sub)
    for name in commands.TAPE_COMMANDS:  # every command that reads a tape reads its encoding
        if name in sub.choices:
            sub.choices[name].add_argument(
                "--encoding",
                metavar="CODEC",
                help="text encoding of a CSV tape (default utf-8; e.g. gb18030, latin-1)",
            )
    return parser


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (tests swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def _show_progress_lines() -> None:
    """Progress lines (no terminal: one every few seconds) go to stderr as they are."""
    from abs_engine._progress import LOGGER

    log = logging.getLogger(LOGGER)
    log.setLevel(logging.INFO)
    log.propagate = False
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    _show_progress_lines()
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except (AbsError, OSError) as exc:  # bad input, or the file system said no
        if args.debug:
            raise
        print(f"abs-engine {args.command}: error: {commands.one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:  # the allocator said no: a request larger than this machine
        if args.debug:
            raise
        print(
            f"abs-engine {args.command}: error: out of memory; reduce the request "
            "(scenarios, paths, horizon) or run it on a larger machine",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
