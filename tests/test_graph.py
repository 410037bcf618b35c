"""The graph family's arithmetic against textbook definitions, on small graphs."""

import duckdb
import numpy as np

from features import graph


def test_pagerank_is_the_stationary_distribution_with_sinks_spread_evenly():
    """Our power iteration skips the nodes on no payment; it must still give the PageRank
    of the whole graph: the solution of the linear system, money reaching a node that pays
    nobody spread over every node."""
    rng = np.random.default_rng(7)
    n, damping = 60, 0.85
    # Nodes 0..35 pay and are paid; 36..59 take no part (isolated); some of 0..35 only receive.
    src = rng.integers(0, 30, 150)
    dst = rng.integers(0, 36, 150)
    keep = src != dst
    pairs = np.unique(np.stack([src[keep], dst[keep]]), axis=1)
    src, dst = pairs
    weight = rng.uniform(1, 500, len(src))

    transition = np.zeros((n, n))
    np.add.at(transition, (dst, src), weight)
    paid_out = transition.sum(axis=0)
    sinks = paid_out == 0
    transition[:, ~sinks] /= paid_out[~sinks]
    transition[:, sinks] = 1.0 / n
    expected = np.linalg.solve(np.eye(n) - damping * transition, np.full(n, (1 - damping) / n))

    ranks = graph._pagerank(n, src, dst, weight, damping)
    assert sinks[36:].all() and sinks[:36].sum() > 0  # isolated nodes and receivers only
    np.testing.assert_allclose(ranks, expected, rtol=1e-7)
    assert abs(ranks.sum() - 1) < 1e-9
    # The isolated nodes share one rank; receivers rank above it.
    assert np.unique(ranks[36:]).size == 1
    assert ranks[np.flatnonzero(sinks[:36])].min() > ranks[36]


def test_rings_keep_the_names_they_had():
    """A ring is named after its lowest member by a fixed hash of its id: the names must not
    change from release to release (investigators follow rings by them), leading zeros
    included."""
    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE graph_nodes AS SELECT * FROM (VALUES "
        "(0, 'A000001'), (1, 'A000002'), (2, 'A000010'), (3, 'I000001')) t(node, entity_id)"
    )
    names = graph._ring_names(con).to_pylist()
    assert [names[node] for node in (0, 2, 3)] == [
        "ring-6a962ae4f58e",
        "ring-06d2ff4bd8c6",
        "ring-1c7970c41026",
    ]
