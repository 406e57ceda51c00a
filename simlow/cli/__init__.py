"""The ``simlow`` command line. Only this package touches the outside world (argv, stdout,
exit codes); everything it calls is a pure library function.

Each verb lives in its own module ``simlow.cli.<verb>`` exposing
``register(subparsers) -> None``, which adds its parser and sets ``func`` (taking the parsed
args, printing, and returning an exit code). The list below is explicit.

Exit codes (``EXIT_CODES``, also in ``simlow --help`` and the README):

0  success; for ``fit`` and ``predict``: the setup fits in memory
1  no result: ``npu size`` found no design meeting the target, or every point of a
   ``sweep`` was rejected by the model
2  bad input (a file, a flag, a name): one line on stderr, and with ``--json`` a JSON
   ``{"error": {...}}`` object on stdout
3  ``fit`` / ``predict``: the setup does not fit in memory (an answer, not a failure; the
   output says by how much, ``--json`` carries ``"fits": false``)
130  ``sweep`` interrupted (Ctrl-C); the same command resumes
"""

from __future__ import annotations

import argparse
import importlib
import sys

from simlow.cli.output import print_json
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
    "design",
)


EXIT_OK, EXIT_NO_RESULT, EXIT_BAD_INPUT, EXIT_DOES_NOT_FIT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EXIT_CODES = """exit codes:
  0    success; fit / predict: the setup fits in memory
  1    no result: npu size found no design, or every point of a sweep was rejected
  2    bad input (file, flag or name); with --json also {"error": {...}} on stdout
  3    fit / predict: the setup does not fit in memory (an answer; --json has "fits": false)
  130  sweep interrupted (run the same command to resume)"""


class UsageError(Exception):
    """A command line argparse refuses (raised instead of argparse's own exit)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage and exits 2; we report it like any bad input
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="simlow",
        description="What a low-bit design choice buys on given hardware.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"simlow.cli.{name}").register(sub)
    return parser


def _bad_input(command: str, message: str, as_json: bool) -> int:
    """Exit 2: the one-line message on stderr, and a JSON error object on stdout for --json."""
    print(f"simlow {command}: error: {message}", file=sys.stderr)
    if as_json:
        print_json({"error": {"message": message, "command": command, "exit_code": EXIT_BAD_INPUT}})
    return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        command = next((a for a in argv if a in COMMANDS), "")
        message, _, usage = str(err).partition("\n")
        print(usage, file=sys.stderr)
        return _bad_input(command or "", message, "--json" in argv)
    try:
        code = args.func(args)
    except SimlowError as err:
        return _bad_input(args.command, str(err), getattr(args, "json", False))
    except BrokenPipeError:
        return 0
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
