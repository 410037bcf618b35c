"""One row per ring for investigators: who is in it, what links them, how much money moved
between them, how risky its members score and which typology their reason codes point to."""

from __future__ import annotations

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
        members=("entity_id", sorted),
        mean_score=("score", "mean"),
        max_score=("score", "max"),
    )
    intermediaries = members[members["entity_type"] == "intermediary"]
    report["intermediaries"] = (intermediaries.groupby("ring_id")["entity_id"].agg(sorted)).reindex(
        report.index
    )
    report["intermediaries"] = report["intermediaries"].apply(
        lambda ids: ids if isinstance(ids, list) else []
    )
    report["typology"] = _typology(members, typologies).reindex(report.index)
    report = report.reset_index().merge(links, on="ring_id", how="left")
    return report.sort_values(
        ["max_score", "mean_score", "ring_id"], ascending=[False, False, True], ignore_index=True
    )


def _typology(members: pd.DataFrame, typologies: dict[str, str]) -> pd.Series:
    """Per ring, the typology its members' strongest reason codes point to most often."""
    pointed = members.assign(typology=members["reason_1_feature"].map(typologies)).dropna(
        subset=["typology"]
    )
    counts = pointed.groupby(["ring_id", "typology"]).size().rename("n").reset_index()
    counts = counts.sort_values(["ring_id", "n", "typology"], ascending=[True, False, True])
    return counts.drop_duplicates("ring_id").set_index("ring_id")["typology"]
