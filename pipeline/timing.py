"""How long each step of a long run took, in its log: the profile of a run, read off it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Log ``step: N s (C cores)`` once the block is done: its wall time, and the CPU time
    of the whole process over it. A step near one core on a machine of several is one
    where a single thread works (a positional scan, Python) and the others wait."""
    started, cpu_started = time.perf_counter(), time.process_time()
    yield
    wall = time.perf_counter() - started
    cores = (time.process_time() - cpu_started) / wall if wall > 0 else 0.0
    log.info("%s: %.1f s (%.1f cores)", step, wall, cores)
