"""The ``lightning-causal`` console script.

Sub-commands:

* ``fit``, ``validate``, ``test``: LightningCLI training from a YAML config (``lightning_cli.py``);
* ``sample``, ``counterfactual``: query a trained checkpoint, write CSV/Parquet (``query_cmd.py``);
* ``effects``: each input row's potential-outcome distribution, CATE and risks (``effects_cmd.py``);
* ``identify``: verdict, estimand, ID trace and ID-GEN plan of a query (exit 1 if not identifiable);
* ``prepare``: convert a data set into webdataset shards for streaming (``prepare_cmd.py``);
* ``demo``: the main job on built-in data (see :mod:`lightning_causal.launch.demo`).

User errors print one line (``error: ...``) and exit with status 2, never a traceback (``--debug``
shows it); see :mod:`lightning_causal.launch.error_policy`. A run stopped by SIGUSR1 (SLURM's
warning before a time limit or a preemption) prints where it stopped and exits with 0 once its job
is requeued, 3 otherwise (:mod:`lightning_causal.preemption`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lightning_causal import __version__
from lightning_causal.launch.error_policy import DEBUG_ENV, CommandParser, debug_requested, user_error
from lightning_causal.preemption import Preempted, watch
from lightning_causal.ranks import global_rank

__all__ = ["build_parser", "main"]


LIGHTNING_COMMANDS = ("fit", "validate", "test")

PREEMPTED_STATUS = 3
"""The exit status of a run stopped by SIGUSR1 and not requeued (0 once SLURM requeued it)."""


def build_parser() -> argparse.ArgumentParser:
    """The ``lightning-causal`` argument parser with every sub-command but the LightningCLI ones."""
    from lightning_causal.launch.demo import add_demo_parser
    from lightning_causal.launch.effects_cmd import add_effects_parser
    from lightning_causal.launch.identify_cmd import add_identify_parser
    from lightning_causal.launch.prepare_cmd import add_prepare_parser
    from lightning_causal.launch.query_cmd import add_query_parsers

    parser = CommandParser(
        prog="lightning-causal",
        description="Causal identification and diffusion-based causal generative models.",
        epilog=f"Add --debug (or set {DEBUG_ENV}=1) to see the traceback of an error.",
    )
    parser.add_argument("--version", action="version", version=f"lightning-causal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in LIGHTNING_COMMANDS:  # listed for --help; run by LightningCLI (see main)
        sub.add_parser(
            name, help=f"{name} a model from a YAML config (LightningCLI; see lightning-causal {name} --help)"
        )
    add_query_parsers(sub)
    add_effects_parser(sub)
    add_identify_parser(sub)
    add_prepare_parser(sub)
    add_demo_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (2 and one line on stderr for a user error)."""
    from_shell = argv is None
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = debug_requested(args_list)
    if from_shell:
        sys.argv[1:] = args_list  # LightningCLI reads sys.argv itself (without --debug)
    try:
        if args_list and args_list[0] in LIGHTNING_COMMANDS:
            watch()  # first: SIGUSR1 (SLURM's warning) during the imports must not end the process
            from lightning_causal.launch.lightning_cli import run_lightning

            return run_lightning(None if from_shell else args_list)
        parser = build_parser()
        args = parser.parse_args(args_list)
        if not getattr(args, "handler", None):
            parser.print_help()
            return 2
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Preempted as stop:  # a clean stop on SIGUSR1: the report says where, what holds it, what follows
        if (global_rank() == 0 or not stop.agreed) and stop.report != "":
            print(stop.report or f"{stop} (SIGUSR1)", file=sys.stderr, flush=True)
        return 0 if stop.requeued else PREEMPTED_STATUS
    except Exception as err:
        found = user_error(err)
        if found is None or debug:
            raise
        print(f"error: {found}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
