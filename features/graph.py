"""Graph features: who shares devices, networks, phones, people and money with whom.

For each snapshot, accounts and intermediaries are nodes of one undirected graph. Two are
linked when, before the cut-off, they were seen with the same device or network address
(last 90 days), carry the same phone or id number (an insurer account and a bank account of
one person, or a collector registered with a broker's phone), or paid each other (last 30
days). A *ring* is a group held together by identity links (devices, networks, phones, id numbers):
what an investigator means by "these accounts are run from the same place". A small
connected group is one ring. Households, offices and shared phones chain some groups into
components of thousands, which no investigator would call a ring; those are split into
their densely linked communities (Leiden, modularity, seeded so that runs agree). Payments
join the graph for hop counts and PageRank but not for rings, since payroll and shopping
would chain everyone together.

Everything used is strictly before the cut-off, including which entities are known bad
(confirmed before the snapshot), so the features pass the same point-in-time test as SQL.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
from numpy._core import multiarray
from scipy.sparse.csgraph import connected_components

from features import leiden
from pipeline.timing import timed

# Numpy columns by name: a snapshot's query rows, or its features.
Columns = dict[str, np.ndarray]

# A device, address or phone used by more than this many entities is a public hotspot, a
# shop terminal or a switchboard: it says nothing about who belongs together.
MAX_SHARERS = 20

# Connected groups larger than this are split into communities.
MAX_COMPONENT_RING = 50
# Snapshots whose graphs are computed at once (see build_graph_features).
GRAPH_THREADS = 2

FEATURES = [
    "ring_size",
    "link_degree",
    "bad_neighbours_1hop",
    "bad_within_2hops",
    "bad_in_ring",
    "flow_pagerank",
    "flow_payers_30d",
    "flow_payees_30d",
]

# Accounts are nodes 0 .. n-1 in account-key order, then the intermediaries in theirs.
_NODES_SQL = """
CREATE OR REPLACE TEMP TABLE graph_nodes AS
SELECT k.account_key - 1 AS node, 'account' AS entity_type, a.account_id AS entity_id,
       k.account_key AS entity_key, a.opened_at AS since, k.id_hash AS entity_hash
FROM accounts a JOIN account_keys k USING (account_id)
UNION ALL
SELECT (SELECT count(*) FROM account_keys) + k.intermediary_key - 1, 'intermediary',
       i.intermediary_id, k.intermediary_key, i.registered_at, hash(i.intermediary_id)
FROM intermediaries i JOIN intermediary_keys k USING (intermediary_id)
"""

# Who was seen with which identifying attribute (kind, 64-bit hash) before which snapshots,
# as bits of a chunk of snapshots like the logins' sightings (features/_views.sql): devices
# and addresses over the last 90 days (the shared login table), application devices and
# complaint contact phones over the last 90 days, and the phones and id numbers on the
# customer record from the day it exists. Each entity, value and chunk once, and only the
# values that can link anyone: those two accounts log in from at a snapshot, and those
# seen outside the logins. A phone on the records of two people is seen at every snapshot
# after: as bits, one row instead of one per snapshot.
_SIGHTINGS_SQL = """
CREATE OR REPLACE TEMP TABLE graph_sightings AS
WITH lasting AS (
    SELECT node, CAST('phone' AS sighting_kind) AS kind, hash(phone) AS value, since
    FROM graph_nodes g
    JOIN accounts a ON a.account_id = g.entity_id AND g.entity_type = 'account'
    WHERE a.phone IS NOT NULL
    UNION ALL
    SELECT node, CAST('id_number' AS sighting_kind), hash(id_number), since FROM graph_nodes g
    JOIN accounts a ON a.account_id = g.entity_id AND g.entity_type = 'account'
    WHERE a.id_number IS NOT NULL
    UNION ALL
    SELECT node, CAST('phone' AS sighting_kind), hash(phone), since FROM graph_nodes g
    JOIN intermediaries i ON i.intermediary_id = g.entity_id AND g.entity_type = 'intermediary'
    WHERE i.phone IS NOT NULL
),
-- Only a phone or id number on two records can link anyone: the rest is cut here.
shared_lasting AS (
    SELECT * FROM lasting
    SEMI JOIN (SELECT kind, value FROM lasting GROUP BY ALL HAVING count(*) > 1) USING (kind, value)
),
events AS (
    SELECT g.node, CAST('device' AS sighting_kind) AS kind, hash(l.device_id) AS value,
           l.applied_at AS ts
    FROM loans l JOIN graph_nodes g ON g.entity_id = l.account_id AND g.entity_type = 'account'
    WHERE l.device_id IS NOT NULL
    UNION ALL
    SELECT g.node, CAST('phone' AS sighting_kind), hash(c.contact_phone), c.ts
    FROM complaints c JOIN graph_nodes g ON g.entity_id = c.account_id AND g.entity_type = 'account'
    WHERE c.contact_phone IS NOT NULL
),
-- Values two accounts log in from at a snapshot (device_users_90d), or seen outside the
-- logins: only their logins can link anyone.
linking AS (
    SELECT DISTINCT kind, value FROM device_users_90d
    UNION
    SELECT kind, value FROM events
    UNION
    SELECT kind, value FROM shared_lasting
),
sightings AS (
    SELECT account_key - 1 AS node, kind, value, chunk, snapshots
    FROM device_sightings_90d SEMI JOIN linking USING (kind, value)
    UNION ALL
    SELECT e.node, e.kind, e.value, d.chunk, d.snapshots
    FROM events e JOIN day_snapshots_90d d ON d.day = utc_day(e.ts)
    UNION ALL
    SELECT l.node, l.kind, l.value, b.chunk, CAST(1 AS UBIGINT) << b.bit
    FROM shared_lasting l JOIN snapshot_bits b ON coalesce(l.since < b.snapshot_date, true)
)
-- An application device an account also logs in from is one sighting.
SELECT node, kind, value, chunk, bit_or(snapshots) AS snapshots
FROM sightings
GROUP BY ALL
"""

# Pairs of entities seen with the same value before a snapshot, where at most MAX_SHARERS
# were, with the snapshots at which both were (bits of their chunk). Two seen at a
# snapshot are two sharers at least; so only a value of more than MAX_SHARERS entities in
# its chunk is counted snapshot by snapshot, for the snapshots at which it was crowded.
_LINKS_SQL = f"""
WITH crowded AS (
    SELECT chunk, kind, value FROM graph_sightings GROUP BY ALL HAVING count(*) > {MAX_SHARERS}
),
crowded_at AS (
    SELECT chunk, kind, value, bit_or(CAST(1 AS UBIGINT) << bit) AS snapshots
    FROM (
        SELECT s.chunk, s.kind, s.value, b.bit
        FROM graph_sightings s
        SEMI JOIN crowded USING (chunk, kind, value)
        JOIN snapshot_bits b ON b.chunk = s.chunk AND holds(s.snapshots, b.bit)
        GROUP BY ALL
        HAVING count(*) > {MAX_SHARERS}
    )
    GROUP BY ALL
),
pairs AS (
    -- A pair sharing several values comes once per value, and in no order: the adjacency
    -- matrix built from the pairs is the same either way.
    SELECT a.chunk, a.node AS left_node, b.node AS right_node,
           a.snapshots & b.snapshots & ~coalesce(c.snapshots, 0) AS snapshots
    FROM graph_sightings a
    JOIN graph_sightings b USING (chunk, kind, value)
    LEFT JOIN crowded_at c USING (chunk, kind, value)
    WHERE a.node < b.node
)
SELECT * FROM pairs WHERE snapshots <> 0
"""

# Payments between customers and intermediaries, last 30 days, from the account flows: an
# account's payments out to any node, and its payments in from intermediaries (those from
# accounts are already counted as the payer's payments out).
_FLOWS_SQL = """
SELECT epoch_us(snapshot_date) AS snapshot_us, src_node, dst_node,
       CAST(sum(amount) AS DOUBLE) AS amount
FROM (
    -- One scan of the flows for both directions.
    SELECT
        f.snapshot_date,
        CASE WHEN f.incoming THEN g.node ELSE f.account_key - 1 END AS src_node,
        CASE WHEN f.incoming THEN f.account_key - 1 ELSE g.node END AS dst_node,
        f.amount
    FROM account_flows_30d f JOIN graph_nodes g ON g.entity_hash = f.counterparty
    WHERE NOT f.incoming OR g.entity_type = 'intermediary'
)
WHERE src_node <> dst_node
GROUP BY ALL
ORDER BY ALL
"""
_KNOWN_BAD_SQL = """
SELECT epoch_us(s.snapshot_date) AS snapshot_us, n.node
FROM labels l
JOIN graph_nodes n ON n.entity_id = l.entity_id AND n.entity_type = l.entity_type
JOIN snapshots s ON l.confirmed_at < s.snapshot_date
GROUP BY ALL
ORDER BY ALL
"""


@dataclass(frozen=True)
class FamilyRows:
    """Where one entity type's graph family goes: table ``table`` of the default database,
    one row per row of query ``rows`` (``snapshot_us``, microseconds since the epoch, and
    ``entity_key``; sorted by ``snapshot_us``), in that query's order."""

    entity: str
    table: str
    rows: str


@contextmanager
def _ordinary_pages() -> Iterator[None]:
    """Numpy's arrays in ordinary pages while the graph is computed, numpy's setting given
    back after. Numpy asks the kernel for transparent huge pages for every array of 4 MiB or
    more (``madvise``; its own switch, which ``NUMPY_MADVISE_HUGEPAGE`` sets at import), and
    where the kernel answers by compacting memory on the spot (defrag on ``madvise``, as on
    this project's machine) the graph's short-lived arrays spent a third of their CPU time
    in the kernel: 12 snapshots at a million accounts, 23.3 to 24.5 s with 11.9 to 13.0 s
    of it system time, against 18.3 to 19.5 s and 1.8 to 1.9 s."""
    was = multiarray._set_madvise_hugepage(False)
    try:
        yield
    finally:
        multiarray._set_madvise_hugepage(was)


@_ordinary_pages()
def build_graph_features(
    con: duckdb.DuckDBPyConnection, written: Callable[[], None], families: list[FamilyRows]
) -> None:
    """Create each of ``families``' tables: its rows' FEATURES and ``ring_id`` at every
    snapshot of the ``snapshots`` table.

    The rows are written in the order asked for as each snapshot is computed, so Python
    holds a few snapshots' graphs at a time, not all of them, and the tables need no sort
    after (at a million accounts and 12 snapshots, selecting the accounts' rows by joins
    and sorting them took 8 to 9 s). ``written`` is called after each snapshot's rows: the
    caller's chance to compress them before they fill DuckDB's memory (which DuckDB would
    otherwise do by itself, on one core: 3.3 s once at a million accounts).
    """
    with timed("graph nodes and sightings"):
        con.execute(_NODES_SQL)
        con.execute(_SIGHTINGS_SQL)
    [(n,)] = con.execute("SELECT count(*) FROM graph_nodes").fetchall()
    query = (
        "SELECT epoch_us(snapshot_date) AS snapshot_us, chunk, bit FROM snapshot_bits ORDER BY 1"
    )
    snapshot_bits = con.execute(query).fetchnumpy()
    snapshots = snapshot_bits["snapshot_us"]
    with timed("graph links"):
        links = _by_snapshot_bits(con, _LINKS_SQL, snapshot_bits)
    with timed("graph flows"):
        flows = _by_snapshot(con, _FLOWS_SQL, snapshots)
    known_bad = _by_snapshot(con, _KNOWN_BAD_SQL, snapshots)
    with timed("graph rows and ring names"):
        rows = [_family_rows(con, family, snapshots) for family in families]
        names = _ring_names(con)
    features = ", ".join(f"{name} DOUBLE" for name in FEATURES)
    for family in families:
        con.execute(
            f"CREATE OR REPLACE TABLE {family.table} "
            f"(entity_key INTEGER, snapshot_date TIMESTAMPTZ, {features}, ring_id VARCHAR)"
        )

    # Snapshots are independent: two at a time, since the sparse products and most of numpy
    # release the GIL. Rows go into DuckDB in snapshot order as each is ready.
    with (
        timed("graph features of every snapshot"),
        ThreadPoolExecutor(GRAPH_THREADS) as pool,
        # Apart only when snapshots run side by side.
        Communities(apart=GRAPH_THREADS > 1 and len(snapshots) > 1) as communities,
    ):
        computed = pool.map(
            partial(_snapshot_rows, n, communities, names),
            snapshots,
            zip(*rows, strict=True),
            links,
            flows,
            known_bad,
        )
        for families_columns in computed:
            for family, columns in zip(families, families_columns, strict=True):
                _insert(con, family.table, columns)
            written()


def _family_rows(
    con: duckdb.DuckDBPyConnection, family: FamilyRows, snapshots: np.ndarray
) -> list[Columns]:
    """Each snapshot's rows of a family: ``entity_key``, and the ``node`` that entity is."""
    nodes = con.execute(
        "SELECT entity_key, node FROM graph_nodes WHERE entity_type = ?", [family.entity]
    ).fetchnumpy()
    node_of = np.zeros(nodes["entity_key"].max(initial=0) + 1, dtype=np.int64)
    node_of[nodes["entity_key"]] = nodes["node"]
    return [
        {"entity_key": keys, "node": node_of[keys]}
        for keys in (at["entity_key"] for at in _by_snapshot(con, family.rows, snapshots))
    ]


def _snapshot_rows(
    n: int,
    communities: Communities,
    names: pa.Array,
    snapshot: int,
    families_rows: tuple[Columns, ...],
    links: Columns,
    flows: Columns,
    known_bad: Columns,
) -> list[dict]:
    """Each family's rows at one snapshot with their graph features, picked out of the
    node arrays in the snapshot's thread, beside its graph, rather than in the one thread
    that writes the snapshots to DuckDB in turn."""
    graph = _snapshot_features(n, communities, links, flows, known_bad)
    return [_family_columns(graph, names, snapshot, rows) for rows in families_rows]


def _family_columns(graph: Columns, names: pa.Array, snapshot: int, rows: Columns) -> dict:
    """A snapshot's graph features for a family's rows at it."""
    nodes = rows["node"]
    return {
        "entity_key": rows["entity_key"],
        "snapshot_date": pa.array(np.full(len(nodes), snapshot), pa.timestamp("us", tz="UTC")),
        **{name: graph[name][nodes] for name in FEATURES},
        # A lone node is in no ring. Names stay in the dictionary until DuckDB reads them:
        # picking 15 M of them here took a second of the snapshots' threads.
        "ring_id": pa.DictionaryArray.from_arrays(
            pa.array(graph["ring_root"][nodes], mask=graph["ring_size"][nodes] <= 1), names
        ),
    }


def _ring_names(con: duckdb.DuckDBPyConnection) -> pa.Array:
    """The name of the ring each node would root: ``ring-`` and 12 hex digits of a fixed
    hash of its entity's id. A ring is named after its lowest member, so it keeps its id
    while that member stays."""
    ids = con.execute("SELECT entity_id FROM graph_nodes ORDER BY node").fetchnumpy()["entity_id"]
    # Each id once: pandas' default of factorizing them first would only cost time. Written
    # out by DuckDB: numpy's string formatting took most of a second at a million accounts.
    hashed = pd.util.hash_array(ids.astype(object), categorize=False) >> np.uint64(16)
    _insert(con, "graph_ring_hashes", {"node": np.arange(len(ids)), "hashed": hashed}, create=True)
    names = con.sql(
        "SELECT 'ring-' || lpad(lower(to_hex(hashed)), 12, '0') AS ring_id "
        "FROM graph_ring_hashes ORDER BY node"
    )
    return names.to_arrow_table()["ring_id"].combine_chunks()


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, columns: Columns, *, create: bool = False
) -> None:
    """Numpy columns into a DuckDB table (a new one with ``create``), by way of Arrow,
    which DuckDB reads without a copy per value."""
    con.register("graph_rows", pa.table(columns))
    if create:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM graph_rows")
    else:
        con.execute(f"INSERT INTO {table} SELECT * FROM graph_rows")
    con.unregister("graph_rows")


def _by_snapshot(con: duckdb.DuckDBPyConnection, sql: str, snapshots: np.ndarray) -> list[Columns]:
    """Each snapshot's rows of a query sorted by ``snapshot_us``: slices of its numpy
    columns, one per snapshot (``snapshots``, sorted, in microseconds)."""
    columns = con.execute(sql).fetchnumpy()
    at = columns.pop("snapshot_us")
    starts = np.searchsorted(at, snapshots, side="left")
    ends = np.searchsorted(at, snapshots, side="right")
    return [{k: v[a:b] for k, v in columns.items()} for a, b in zip(starts, ends, strict=True)]


def _by_snapshot_bits(
    con: duckdb.DuckDBPyConnection, sql: str, snapshots: Columns
) -> list[Columns]:
    """Each snapshot's rows of a query with a set of snapshots per row (``chunk`` and
    ``snapshots``, bits as in features/_views.sql): the rows that hold it, one set of numpy
    columns per snapshot (``snapshots``: ``chunk`` and ``bit`` of each, in time order)."""
    columns = con.execute(sql).fetchnumpy()
    chunks, bits = columns.pop("chunk"), columns.pop("snapshots")
    held = [
        (chunks == chunk) & ((bits >> np.uint64(bit)) & np.uint64(1) == 1)
        for chunk, bit in zip(snapshots["chunk"], snapshots["bit"], strict=True)
    ]
    return [{k: v[rows] for k, v in columns.items()} for rows in held]


def _snapshot_features(
    n: int, communities: Communities, links: Columns, flows: Columns, known_bad: Columns
) -> Columns:
    """FEATURES and ``ring_root`` of every node at one snapshot."""
    src, dst = flows["src_node"], flows["dst_node"]
    identity = _adjacency(n, links["left_node"], links["right_node"])
    linked = _adjacency(n, src, dst) + identity
    linked.data[:] = 1.0
    bad = np.zeros(n)
    bad[known_bad["node"]] = 1.0

    ring = _rings(identity, communities)
    ring_count = ring.max() + 1
    ring_size = np.bincount(ring, minlength=ring_count)[ring]
    ring_bad = np.bincount(ring, weights=bad, minlength=ring_count)[ring] - bad
    # The lowest node of each ring names it, so a ring keeps its id while that member stays.
    root = np.full(ring_count, n)
    np.minimum.at(root, ring, np.arange(n))

    degree = np.diff(linked.indptr)
    bad_columns = linked[:, np.flatnonzero(bad)]
    # Entries are sums of positive numbers: stored means reached.
    two_hops = np.diff((linked @ bad_columns + bad_columns).tocsr().indptr)
    # A bad node with any neighbour reaches itself in two hops; it is not its own neighbour.
    two_hops = two_hops - ((bad > 0) & (degree > 0))

    features = {
        "ring_size": ring_size,
        "link_degree": degree,
        "bad_neighbours_1hop": linked @ bad,
        "bad_within_2hops": two_hops,
        "bad_in_ring": ring_bad,
        # Scaled so that 1 is the average node, whatever the size of the graph.
        "flow_pagerank": _pagerank(n, src, dst, flows["amount"]) * n,
        "flow_payers_30d": np.bincount(dst, minlength=n),
        "flow_payees_30d": np.bincount(src, minlength=n),
    }
    return {name: features[name].astype(np.float64) for name in FEATURES} | {
        "ring_root": root[ring].astype(np.int64)
    }


def _rings(identity: sp.csr_array, communities: Communities) -> np.ndarray:
    """Ring number of every node: its connected group, or its community within a large one."""
    count, component = connected_components(identity, directed=False)
    large = np.bincount(component, minlength=count)[component] > MAX_COMPONENT_RING
    if large.any():
        inside = np.flatnonzero(large)
        sub = sp.triu(identity[inside][:, inside], k=1).tocoo()
        component[inside] = count + communities.of(len(inside), sub.row, sub.col)
    return np.unique(component, return_inverse=True)[1]


class Communities:
    """Leiden (features/leiden.py) in a process of its own, started when first needed, for
    snapshots computed side by side: Leiden and the edge list handed to igraph hold the
    interpreter, and in the snapshots' threads they kept two threads to 1.6 cores (12
    snapshots at a million accounts: 20.8 s; with Leiden apart, 17.6 s). Only the large
    components' edges cross, a few megabytes. One process runs one call at a time, so the
    seeded communities do not depend on which thread asks first. For a single snapshot, or
    snapshots one at a time (``apart`` false), no thread waits on another, and Leiden runs
    where it is asked: a process takes a second to start."""

    def __init__(self, *, apart: bool) -> None:
        self._apart = apart
        self._pool: ProcessPoolExecutor | None = None
        self._starting = threading.Lock()

    def of(self, nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Community of each of ``nodes`` nodes linked by the edges ``left``-``right``."""
        if not self._apart:
            return leiden.communities(nodes, left, right)
        with self._starting:
            if self._pool is None:
                # A fresh interpreter: forking a process that runs DuckDB's threads could
                # copy a lock some thread holds.
                spawn = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(1, mp_context=spawn)
        return self._pool.submit(leiden.communities, nodes, left, right).result()

    def __enter__(self) -> Communities:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()


def _pagerank(
    n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, damping: float = 0.85
) -> np.ndarray:
    """PageRank of the weighted payment graph by power iteration.

    Written out rather than taken from igraph, whose solver differs in the last bits from
    run to run: features must be bit-identical for models to be. Only the nodes on some
    payment are iterated: the others (about two in five in the simulated worlds) pay no one
    and are paid by no one, so each gets the same share, carried as one number.
    """
    on_payment = np.zeros(n, dtype=bool)
    on_payment[src] = on_payment[dst] = True
    nodes = np.flatnonzero(on_payment)
    position = np.cumsum(on_payment) - 1
    src, dst, m, idle = position[src], position[dst], len(nodes), n - len(nodes)
    paid_out = np.bincount(src, weights=weight, minlength=m)
    transition = sp.csr_array((weight / paid_out[src], (dst, src)), shape=(m, m))
    # Money that reaches a node paying nobody is spread evenly (the usual convention).
    sinks = np.flatnonzero(paid_out == 0)
    rank, idle_rank = np.full(m, 1.0 / n), 1.0 / n
    difference = np.empty(m)
    for _ in range(100):
        # Summed by numpy, not BLAS, whose threads may split the sum differently.
        spread = (rank[sinks].sum() + idle * idle_rank) / n
        updated = transition @ rank
        updated += spread
        updated *= damping
        updated += (1 - damping) / n
        idle_updated = damping * spread + (1 - damping) / n
        np.subtract(updated, rank, out=difference)
        change = np.abs(difference, out=difference).sum() + idle * abs(idle_updated - idle_rank)
        rank, idle_rank = updated, idle_updated
        if change < 1e-8:
            break
    ranks = np.full(n, idle_rank)
    ranks[nodes] = rank
    return ranks


def _adjacency(n: int, left: np.ndarray, right: np.ndarray) -> sp.csr_array:
    """Symmetric 0/1 adjacency of the node pairs."""
    if len(left) == 0:
        return sp.csr_array((n, n))
    rows = np.concatenate([left, right])
    cols = np.concatenate([right, left])
    matrix = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    matrix.data[:] = 1.0
    return matrix
