"""Turn the champion's scores into the queue investigators work: calibrated score, reason
codes, rank and risk band, computed in hash partitions that can run in any process.

A partition task reads only files (its slice of the features, the downloaded model) and
writes only its own file, under a temporary name renamed when complete: run it here or on
a Dask worker, kill it, run it again, and the result is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from pipeline.io import atomic_file
from pipeline.serving import CalibratedBooster

REASONS = 3
MODEL_FILES = ("booster", "calibrator", "reference", "catalog")
CARRIED = ("entity_id", "ring_id")  # passed through from the features


def load_model(model_dir: Path) -> tuple[CalibratedBooster, dict]:
    """The served model and the feature catalog it was logged with (its families), from a
    downloaded model directory."""
    extensions = ("txt", "json", "json", "yaml")
    files = {
        name: model_dir / "artifacts" / f"{name}.{ext}"
        for name, ext in zip(MODEL_FILES, extensions, strict=True)
    }
    model = CalibratedBooster().load_artifacts(
        {name: str(path) for name, path in files.items() if path.exists()}
    )
    return model, yaml.safe_load(files["catalog"].read_text(encoding="utf-8"))["families"]


def reason_texts(catalog: dict) -> dict[str, str]:
    return {f: text for family in catalog.values() for f, text in family["features"].items()}


def feature_typologies(catalog: dict) -> dict[str, str]:
    """The typology each feature points to when it explains a score (where its family has one)."""
    return {
        feature: family["points_to"]
        for family in catalog.values()
        if family.get("points_to")
        for feature in family["features"]
    }


def score_rows(
    model: CalibratedBooster,
    features: pd.DataFrame,
    texts: dict[str, str] | None,
    *,
    reasons_from: float = 0.0,
) -> pd.DataFrame:
    """Calibrated scores, with reason codes for the rows scoring at least ``reasons_from``
    when ``texts`` is given.

    Reason codes are LightGBM's own SHAP values (``pred_contrib``). Exact TreeSHAP costs
    a hundred times a prediction, so it is spent on the rows investigators will open (the
    alert, high and medium bands), not on the million that score low.
    """
    names = model.booster.feature_name()
    values = features[names]
    out = features[[c for c in CARRIED if c in features]].reset_index(drop=True)
    out["score"] = model.predict(None, values)
    if texts is None:
        return out
    explained = np.flatnonzero(out["score"].to_numpy() >= reasons_from)
    return pd.concat(
        [out, explain(model, values.iloc[explained], texts, rows=explained, of=len(out))], axis=1
    )


def explain(
    model: CalibratedBooster, values: pd.DataFrame, texts: dict[str, str], *, rows, of: int
) -> pd.DataFrame:
    """Reason codes of ``values`` placed at positions ``rows`` of a frame of ``of`` rows."""
    contributions = (
        model.booster.predict(values, pred_contrib=True)[:, :-1]
        if len(values)
        else np.empty((0, values.shape[1]))
    )
    reasons = reason_codes(contributions, values, texts).set_axis(rows)
    return reasons.reindex(range(of))


def reason_codes(
    contributions: np.ndarray, values: pd.DataFrame, texts: dict[str, str], k: int = REASONS
) -> pd.DataFrame:
    """The ``k`` features pushing each row's score up the most: name, value, contribution
    (log-odds) and the catalog's plain-language text. A slot stays empty when fewer than
    ``k`` features push the score up."""
    names = np.asarray(values.columns)
    top = np.argsort(-contributions, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(values))[:, None]
    pushed = contributions[rows, top]
    shown = values.to_numpy(dtype=float, na_value=np.nan)[rows, top]
    descriptions = np.asarray([texts.get(n, n) for n in names], dtype=object)
    columns = {}
    for slot in range(k):
        up = pushed[:, slot] > 0
        columns[f"reason_{slot + 1}_feature"] = np.where(up, names[top[:, slot]], None)
        columns[f"reason_{slot + 1}_value"] = np.where(up, shown[:, slot], np.nan)
        columns[f"reason_{slot + 1}_contribution"] = np.where(up, pushed[:, slot], np.nan)
        columns[f"reason_{slot + 1}_text"] = np.where(up, descriptions[top[:, slot]], None)
    return pd.DataFrame(columns)


def rank_and_band(scored: pd.DataFrame, *, budget: int, high: float, medium: float) -> pd.DataFrame:
    """Rank 1 is the riskiest (ties by entity id, so the order is total); the top
    ``budget`` rows are the ``alert`` band, then ``high``/``medium`` by calibrated score."""
    ranked = scored.sort_values(["score", "entity_id"], ascending=[False, True], ignore_index=True)
    rank = np.arange(1, len(ranked) + 1)
    band = np.select(
        [rank <= budget, ranked["score"] >= high, ranked["score"] >= medium],
        ["alert", "high", "medium"],
        "low",
    )
    return ranked.assign(rank=rank, risk_band=band)


@dataclass(frozen=True)
class PartitionTask:
    """Score one partition's features file into one output file."""

    features: Path
    model_dir: Path
    output: Path
    reasons: bool = True
    reasons_from: float = 0.0  # calibrated score from which rows get reason codes


def score_partition(task: PartitionTask) -> Path:
    """Run anywhere (a Dask worker too): read, score, write atomically; idempotent."""
    if task.output.exists():
        return task.output
    model, catalog = load_model(task.model_dir)
    texts = reason_texts(catalog) if task.reasons else None
    scored = score_rows(
        model, pd.read_parquet(task.features), texts, reasons_from=task.reasons_from
    )
    with atomic_file(task.output) as staging:
        scored.to_parquet(staging, index=False)
    return task.output
