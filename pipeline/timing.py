"""How long each step of a long run took, in its log: the profile of a run, read off it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Log ``step: N s`` once the block is done."""
    started = time.perf_counter()
    yield
    log.info("%s: %.1f s", step, time.perf_counter() - started)
