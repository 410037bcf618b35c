"""Model behaviour tests (Made-With-ML style) on the model trained on the tiny world.

Directional: what the typologies say is riskier must score higher. Invariance: what should
not matter (where a customer lives) must not move the score, through features and model.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.featurize import compute_features, connect, data_window
from pipeline.serving import CalibratedBooster
from pipeline.stages.features import as_of_snapshot


def served(trained: Path, entity: str) -> CalibratedBooster:
    models = trained / "models" / entity
    return CalibratedBooster().load_artifacts(
        {"booster": str(models / "booster.txt"), "calibrator": str(models / "calibrator.json")}
    )


def ordinary_accounts(features: Path) -> pd.DataFrame:
    rows = pd.read_parquet(features / "accounts.parquet")
    return rows[(rows["split"] == "test") & (rows["label"] == 0)].sample(400, random_state=0)


def test_passing_money_through_to_many_payers_raises_an_accounts_score(tiny_trained, tiny_features):
    model = served(tiny_trained, "account")
    rows = ordinary_accounts(tiny_features)
    mule_like = rows.assign(
        pass_through_ratio_30d=np.maximum(rows["pass_through_ratio_30d"].fillna(0), 0.98),
        distinct_payers_30d=rows["distinct_payers_30d"] + 25,
    )
    before, after = model.uncalibrated(rows), model.uncalibrated(mule_like)
    assert np.all(after >= before - 1e-12)  # for every account, not just on average
    assert (after > before).mean() >= 0.5 and after.mean() > before.mean()


def test_an_accounts_region_barely_moves_its_score(tiny_trained, tiny_clean_dir, tmp_path):
    """Move every customer to another region in the clean data, recompute, rescore."""
    moved = tmp_path / "clean"
    shutil.copytree(tiny_clean_dir, moved)
    accounts = pd.read_parquet(moved / "accounts.parquet")
    regions = accounts["region"].dropna().unique()
    assert len(regions) > 1
    elsewhere = dict(zip(regions, np.roll(regions, 1), strict=True))
    accounts["region"] = accounts["region"].map(elsewhere)
    accounts.to_parquet(moved / "accounts.parquet", index=False)

    model = served(tiny_trained, "account")
    scores = []
    for clean in (tiny_clean_dir, moved):
        data = connect(clean, threads=1)
        snapshot = as_of_snapshot(dt.date(2025, 10, 1), *data_window(data))
        features = compute_features(data, "account", snapshot).sort_values("entity_id")
        scores.append(model.predict(None, features))
    assert np.abs(scores[0] - scores[1]).max() <= 0.01


@pytest.mark.parametrize("entity", ["account", "intermediary"])
def test_scores_are_probabilities_that_rank_like_the_booster(tiny_trained, tiny_features, entity):
    model = served(tiny_trained, entity)
    table = {"account": "accounts", "intermediary": "intermediaries"}[entity]
    rows = pd.read_parquet(tiny_features / f"{table}.parquet").query("split == 'test'")
    calibrated, raw = model.predict(None, rows), model.uncalibrated(rows)
    assert ((calibrated >= 0) & (calibrated <= 1)).all()
    # Calibration is monotone: it never puts a lower raw score above a higher one.
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(calibrated[order]) >= -1e-12)
