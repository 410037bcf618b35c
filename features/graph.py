"""Graph features: who shares devices, networks, phones, people and money with whom.

For each snapshot, accounts and intermediaries are nodes of one undirected graph. Two are
linked when, before the cut-off, they were seen with the same device or network address
(last 90 days), carry the same phone or id number (an insurer account and a bank account of
one person, or a collector registered with a broker's phone), or paid each other (last 90
days). A *ring* is a connected group of the identity links (devices, networks, phones, id
numbers): what an investigator means by "these accounts are run from the same place".
Payments join the graph for hop counts and PageRank but not for rings, since ordinary
payroll and shopping would otherwise chain everyone into one giant ring.

Everything used is strictly before the cut-off, including which entities are known bad
(confirmed before the snapshot), so the features pass the same point-in-time test as SQL.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

LOOKBACK_DAYS = 90
# A device, address or phone used by more than this many entities is a public hotspot, a
# shop terminal or a switchboard: it says nothing about who belongs together.
MAX_SHARERS = 20

FEATURES = [
    "ring_size",
    "link_degree",
    "bad_neighbours_1hop",
    "bad_within_2hops",
    "bad_in_ring",
    "flow_pagerank",
    "flow_payers_90d",
    "flow_payees_90d",
]

_NODES_SQL = """
CREATE OR REPLACE TEMP TABLE graph_nodes AS
SELECT row_number() OVER (ORDER BY entity_type, entity_id) - 1 AS node, *
FROM (
    SELECT 'account' AS entity_type, account_id AS entity_id, opened_at AS since FROM accounts
    UNION ALL
    SELECT 'intermediary', intermediary_id, registered_at FROM intermediaries
)
"""

# Each sighting of an entity with an identifying attribute. `lasting` ones (phones and id
# numbers on the customer record) hold from `ts` on; the others count for LOOKBACK_DAYS.
_SIGHTINGS_SQL = """
CREATE OR REPLACE TEMP VIEW graph_sightings AS
SELECT account_id AS entity_id, 1 AS kind, device_id AS value, ts, false AS lasting
FROM device_events
UNION ALL
SELECT account_id, 2, ip, ts, false FROM device_events WHERE ip IS NOT NULL
UNION ALL
SELECT account_id, 1, device_id, applied_at, false FROM loans WHERE device_id IS NOT NULL
UNION ALL
SELECT account_id, 3, contact_phone, ts, false FROM complaints WHERE contact_phone IS NOT NULL
UNION ALL
SELECT account_id, 3, phone, opened_at, true FROM accounts WHERE phone IS NOT NULL
UNION ALL
SELECT account_id, 4, id_number, opened_at, true FROM accounts WHERE id_number IS NOT NULL
UNION ALL
SELECT intermediary_id, 3, phone, registered_at, true FROM intermediaries WHERE phone IS NOT NULL
"""

_LINKS_SQL = f"""
WITH candidates AS (
    -- Only attributes that two entities ever share can link anyone: a cheap first cut.
    SELECT kind, value FROM graph_sightings GROUP BY ALL HAVING min(entity_id) < max(entity_id)
),
at_snapshot AS (
    SELECT DISTINCT s.snapshot_date, x.kind, x.value, x.entity_id
    FROM graph_sightings x
    SEMI JOIN candidates c ON c.kind = x.kind AND c.value = x.value
    JOIN snapshots s
      ON coalesce(x.ts < s.snapshot_date, true)
     AND (x.lasting OR x.ts >= s.snapshot_date - INTERVAL {LOOKBACK_DAYS} DAY)
),
shared AS (
    SELECT snapshot_date, kind, value
    FROM at_snapshot
    GROUP BY ALL
    HAVING count(*) BETWEEN 2 AND {MAX_SHARERS}
),
pairs AS (
    SELECT DISTINCT a.snapshot_date, a.entity_id AS left_id, b.entity_id AS right_id
    FROM at_snapshot a
    JOIN shared USING (snapshot_date, kind, value)
    JOIN at_snapshot b USING (snapshot_date, kind, value)
    WHERE a.entity_id < b.entity_id
)
SELECT p.snapshot_date, l.node AS left_node, r.node AS right_node
FROM pairs p
JOIN graph_nodes l ON l.entity_id = p.left_id AND coalesce(l.since < p.snapshot_date, true)
JOIN graph_nodes r ON r.entity_id = p.right_id AND coalesce(r.since < p.snapshot_date, true)
ORDER BY ALL
"""

_FLOWS_SQL = f"""
SELECT s.snapshot_date, src.node AS src_node, dst.node AS dst_node, sum(t.amount) AS amount
FROM transactions t
JOIN graph_nodes src ON src.entity_id = t.src_id
JOIN graph_nodes dst ON dst.entity_id = t.dst_id
JOIN snapshots s
  ON t.ts < s.snapshot_date AND t.ts >= s.snapshot_date - INTERVAL {LOOKBACK_DAYS} DAY
WHERE src.node <> dst.node
GROUP BY ALL
ORDER BY ALL
"""

_KNOWN_BAD_SQL = """
SELECT s.snapshot_date, n.node
FROM labels l
JOIN graph_nodes n ON n.entity_id = l.entity_id AND n.entity_type = l.entity_type
JOIN snapshots s ON l.confirmed_at < s.snapshot_date
GROUP BY ALL
ORDER BY ALL
"""

_ROWS_SQL = """
SELECT 'account' AS entity_type, entity_id, snapshot_date FROM account_snapshots
UNION ALL
SELECT 'intermediary', entity_id, snapshot_date FROM intermediary_snapshots
"""


def graph_features(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per entity and snapshot (from the ``snapshots`` table): ring, known-bad and flow features.

    Returns ``entity_type``, ``entity_id``, ``snapshot_date``, ``ring_id`` and FEATURES.
    """
    con.execute(_NODES_SQL)
    con.execute(_SIGHTINGS_SQL)
    nodes = con.execute("SELECT entity_id FROM graph_nodes ORDER BY node").df()["entity_id"]
    links = _by_snapshot(con.execute(_LINKS_SQL).df())
    flows = _by_snapshot(con.execute(_FLOWS_SQL).df())
    known_bad = _by_snapshot(con.execute(_KNOWN_BAD_SQL).df())
    rows = con.execute(_ROWS_SQL).df()
    rows["snapshot_date"] = pd.to_datetime(rows["snapshot_date"], utc=True)
    node_of = pd.Series(np.arange(len(nodes)), index=nodes.to_numpy())
    empty = pd.DataFrame()
    per_snapshot = []
    for snapshot, entities in rows.groupby("snapshot_date", sort=True):
        graph = _snapshot_features(
            len(nodes),
            links.get(snapshot, empty),
            flows.get(snapshot, empty),
            known_bad.get(snapshot, empty),
        )
        rings = graph.pop("ring_root")
        graph["ring_id"] = _ring_ids(nodes.to_numpy()[rings], graph["ring_size"])
        picked = node_of.loc[entities["entity_id"]].to_numpy()
        per_snapshot.append(
            pd.concat(
                [entities.reset_index(drop=True), graph.iloc[picked].reset_index(drop=True)],
                axis=1,
            )
        )
    return pd.concat(per_snapshot, ignore_index=True)


def _by_snapshot(frame: pd.DataFrame) -> dict[pd.Timestamp, pd.DataFrame]:
    if frame.empty:
        return {}
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"], utc=True)
    return {s: part.drop(columns="snapshot_date") for s, part in frame.groupby("snapshot_date")}


def _snapshot_features(
    n: int, links: pd.DataFrame, flows: pd.DataFrame, known_bad: pd.DataFrame
) -> pd.DataFrame:
    identity = _adjacency(n, links.get("left_node"), links.get("right_node"))
    linked = _adjacency(n, flows.get("src_node"), flows.get("dst_node")) + identity
    linked.data[:] = 1.0
    bad = np.zeros(n)
    bad[known_bad.get("node", pd.Series(dtype="int64")).to_numpy()] = 1.0

    ring_count, ring = connected_components(identity, directed=False)
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

    src = flows.get("src_node", pd.Series(dtype="int64")).to_numpy()
    dst = flows.get("dst_node", pd.Series(dtype="int64")).to_numpy()
    amount = flows.get("amount", pd.Series(dtype="float64")).to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "ring_size": ring_size,
            "link_degree": degree,
            "bad_neighbours_1hop": linked @ bad,
            "bad_within_2hops": two_hops,
            "bad_in_ring": ring_bad,
            # Scaled so that 1 is the average node, whatever the size of the graph.
            "flow_pagerank": _pagerank(n, src, dst, amount) * n,
            "flow_payers_90d": np.bincount(dst, minlength=n),
            "flow_payees_90d": np.bincount(src, minlength=n),
            "ring_root": root[ring],
        }
    ).astype({name: "float64" for name in FEATURES} | {"ring_root": "int64"})


def _pagerank(
    n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, damping: float = 0.85
) -> np.ndarray:
    """PageRank of the weighted payment graph by power iteration.

    Written out rather than taken from igraph, whose solver differs in the last bits from
    run to run: features must be bit-identical for models to be.
    """
    paid_out = np.bincount(src, weights=weight, minlength=n)
    transition = sp.csr_array((weight / paid_out[src], (dst, src)), shape=(n, n))
    sinks = paid_out == 0
    rank = np.full(n, 1.0 / n)
    for _ in range(100):
        # Money that reaches an account paying nobody is spread evenly (the usual convention).
        updated = damping * (transition @ rank + rank[sinks].sum() / n) + (1 - damping) / n
        converged = np.abs(updated - rank).sum() < 1e-10
        rank = updated
        if converged:
            break
    return rank


def _adjacency(n: int, left: pd.Series | None, right: pd.Series | None) -> sp.csr_array:
    """Symmetric 0/1 adjacency of the node pairs."""
    if left is None or len(left) == 0:
        return sp.csr_array((n, n))
    rows = np.concatenate([left.to_numpy(), right.to_numpy()])
    cols = np.concatenate([right.to_numpy(), left.to_numpy()])
    matrix = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    matrix.data[:] = 1.0
    return matrix


def _ring_ids(root_entity: np.ndarray, ring_size: pd.Series) -> pd.Series:
    """``ring-`` and 12 hex digits of a fixed hash of the ring's lowest member; none if alone."""
    hashed = pd.util.hash_array(root_entity.astype(object))
    ids = pd.Series(np.char.add("ring-", np.char.mod("%012x", hashed >> np.uint64(16))))
    return ids.where(ring_size.to_numpy() > 1)
