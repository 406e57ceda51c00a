"""The ``simlow`` command line. Only this package touches the outside world (argv, stdout,
exit codes); everything it calls is a pure library function.

Each verb lives in its own module ``simlow.cli.<verb>`` exposing
``register(subparsers) -> None``, which adds its parser and sets ``func`` (taking the parsed
args, printing, and returning an exit code). The list below is explicit.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from simlow.errors import SimlowError

COMMANDS: tuple[str, ...] = (
    "hw",
    "models",
    "fit",
    "bench",
    "predict",
    "serving",
    "validate",
    "cost",
    "sweep",
    "report",
    "claims",
    "quant",
    "npu",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simlow",
        description="What a low-bit design choice buys on given hardware.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"simlow.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except SimlowError as err:
        print(f"simlow {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
