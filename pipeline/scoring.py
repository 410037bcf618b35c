"""Turn calibrated scores into the ranked queue investigators work."""

from __future__ import annotations

import pandas as pd


def rank_scores(
    features: pd.DataFrame, scores, *, model_name: str, model_version: int
) -> pd.DataFrame:
    """One row per entity: calibrated score, rank (1 = riskiest) and the model that scored it."""
    scored = pd.DataFrame(
        {
            "entity_id": features["entity_id"].to_numpy(),
            "as_of": features["snapshot_date"].dt.date.to_numpy(),
            "score": scores,
        }
    )
    scored = scored.sort_values(["score", "entity_id"], ascending=[False, True], ignore_index=True)
    return scored.assign(
        rank=range(1, len(scored) + 1), model_name=model_name, model_version=model_version
    )
