"""The ``lightning-causal`` console script.

Sub-commands:

* ``fit``, ``validate``, ``test``: LightningCLI training from a YAML config (``lightning_cli.py``);
* ``sample``, ``counterfactual``: query a trained checkpoint, write CSV/Parquet (``query_cmd.py``);
* ``identify``: verdict, estimand, ID trace and ID-GEN plan of a query (exit 1 if not identifiable);
* ``demo``: the main job on built-in data (see :mod:`lightning_causal.launch.demo`).

User errors print one line (``error: ...``) and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lightning_causal import __version__
from lightning_causal.errors import LightningCausalError

__all__ = ["build_parser", "main"]


LIGHTNING_COMMANDS = ("fit", "validate", "test")


def build_parser() -> argparse.ArgumentParser:
    """The ``lightning-causal`` argument parser with every sub-command but the LightningCLI ones."""
    from lightning_causal.launch.demo import add_demo_parser
    from lightning_causal.launch.identify_cmd import add_identify_parser
    from lightning_causal.launch.query_cmd import add_query_parsers

    parser = argparse.ArgumentParser(
        prog="lightning-causal",
        description="Causal identification and diffusion-based causal generative models.",
    )
    parser.add_argument("--version", action="version", version=f"lightning-causal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in LIGHTNING_COMMANDS:  # listed for --help; run by LightningCLI (see main)
        sub.add_parser(
            name, help=f"{name} a model from a YAML config (LightningCLI; see lightning-causal {name} --help)"
        )
    add_query_parsers(sub)
    add_identify_parser(sub)
    add_demo_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (2 and one line on stderr for a user error)."""
    from_shell = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in LIGHTNING_COMMANDS:
        from lightning_causal.launch.lightning_cli import run_lightning

        try:
            return run_lightning(None if from_shell else argv)  # None: LightningCLI reads sys.argv itself
        except LightningCausalError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except LightningCausalError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
