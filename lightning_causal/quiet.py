"""Lightning's per-run banners and the warnings that do not concern our runs, silenced for a while.

The demo and the staged ID-GEN runs build their Trainers themselves and show their own progress;
Lightning's "GPU available" lines, its hints about data loader workers and SLURM, and a warning per
stage about a missing validation loader would bury it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet"]

PATTERNS = (
    ".*does not have many workers.*",
    ".*LeafSpec.*",
    ".*srun.*is available.*",  # our commands run where they are started
    ".*val_dataloader.*",
    ".*exists and is not empty.*",  # logs live next to the checkpoints
)


@contextmanager
def quiet() -> Iterator[None]:
    """Within the block: Lightning's rank-zero info lines off, the warnings of :data:`PATTERNS` ignored."""
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    level = logger.level
    logger.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        for pattern in PATTERNS:
            warnings.filterwarnings("ignore", pattern)
        try:
            yield
        finally:
            logger.setLevel(level)
