"""The ``lightning-causal`` console script.

Sub-commands:

* ``identify``: verdict, estimand, ID trace and ID-GEN plan of a query (exit 1 if not identifiable);
* ``demo``: the main job on built-in data (see :mod:`launch.demo`).

User errors print one line (``error: ...``) and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lightning_causal import __version__
from lightning_causal.errors import LightningCausalError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from launch.demo import add_demo_parser
    from launch.identify_cmd import add_identify_parser

    parser = argparse.ArgumentParser(
        prog="lightning-causal",
        description="Causal identification and diffusion-based causal generative models.",
    )
    parser.add_argument("--version", action="version", version=f"lightning-causal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_identify_parser(sub)
    add_demo_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
