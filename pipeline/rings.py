"""One row per ring for investigators: who is in it, what links them, how much money moved
between them, how risky its members score and which typology their reason codes point to."""

from __future__ import annotations

import numpy as np
import pandas as pd


def ring_report(
    members: pd.DataFrame, links: pd.DataFrame, typologies: dict[str, str]
) -> pd.DataFrame:
    """Rings of two or more scored entities, riskiest first.

    ``members``: entity_id, entity_type, ring_id, score, reason_1_feature for every scored
    entity; ``links``: the shared devices, phones and payments per ring (ring_links.sql).
    """
    members = members.dropna(subset=["ring_id"])
    members = members[members.groupby("ring_id")["entity_id"].transform("size") > 1]
    by_ring = members.groupby("ring_id")
    report = by_ring.agg(
        size=("entity_id", "size"),
        mean_score=("score", "mean"),
        max_score=("score", "max"),
    )
    report["members"] = _sorted_ids(members).reindex(report.index)
    intermediaries = _sorted_ids(members[members["entity_type"] == "intermediary"])
    report["intermediaries"] = [intermediaries.get(ring, []) for ring in report.index]
    report["typology"] = _typology(members, typologies).reindex(report.index)
    report = report.reset_index().merge(links, on="ring_id", how="left")
    return report.sort_values(
        ["max_score", "mean_score", "ring_id"], ascending=[False, False, True], ignore_index=True
    )


def _sorted_ids(members: pd.DataFrame) -> pd.Series:
    """Per ring, its members' ids in order: one sort of all of them, then cut at the ring
    boundaries (a Python ``sorted`` per ring took seconds for a million accounts)."""
    if members.empty:
        return pd.Series(dtype=object)
    ordered = members.sort_values(["ring_id", "entity_id"])
    rings, ids = ordered["ring_id"].to_numpy(), ordered["entity_id"].to_numpy()
    starts = np.flatnonzero(rings[1:] != rings[:-1]) + 1
    parts = [part.tolist() for part in np.split(ids, starts)]
    return pd.Series(parts, index=rings[np.r_[0, starts]], dtype=object)


def _typology(members: pd.DataFrame, typologies: dict[str, str]) -> pd.Series:
    """Per ring, the typology its members' strongest reason codes point to most often."""
    pointed = members.assign(typology=members["reason_1_feature"].map(typologies)).dropna(
        subset=["typology"]
    )
    counts = pointed.groupby(["ring_id", "typology"]).size().rename("n").reset_index()
    counts = counts.sort_values(["ring_id", "n", "typology"], ascending=[True, False, True])
    return counts.drop_duplicates("ring_id").set_index("ring_id")["typology"]
