"""Leiden communities of a graph given as its edges: what features/graph.py runs in a process
of its own (``Communities``). A module apart, so that the process imports only it, numpy
and igraph."""

from __future__ import annotations

import random
import threading

import numpy as np

SEED = 42
# igraph's generator is global: seeding it and running Leiden as one step keeps the
# communities the same whichever thread of a process asks.
_SEEDED = threading.Lock()


def communities(nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Community of each of ``nodes`` nodes linked by the edges ``left``-``right``: Leiden
    on modularity, with igraph's generator seeded for this call."""
    # Imported here: igraph loads its plotting stack (matplotlib) on import, 0.6 s that
    # every command reaching this module would pay, and only large components need it.
    import igraph  # noqa: PLC0415

    # Pairs of Python ints: igraph reads those several times faster than a numpy array.
    graph = igraph.Graph(n=nodes, edges=list(zip(left.tolist(), right.tolist(), strict=True)))
    with _SEEDED:
        igraph.set_random_number_generator(random.Random(SEED))
        found = graph.community_leiden(objective_function="modularity", n_iterations=2)
    return np.asarray(found.membership)
