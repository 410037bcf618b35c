"""Population stability: how far tonight's features and scores have moved from what the
model learned on.

The reference (decile edges and shares per feature, and of the score) is computed from the
training rows when the model is calibrated and stored with it as JSON; scoring compares
the as-of snapshot against it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WARN, ALERT = 0.10, 0.25
BINS = 10
# A bin empty on one side would make PSI infinite; this floor keeps it finite and large.
FLOOR = 1e-4


def reference_bins(frame: pd.DataFrame, columns: list[str], bins: int = BINS) -> dict:
    """Per column: inner quantile edges and the share of rows in each bin (missing last)."""
    reference = {}
    for column in columns:
        values = frame[column].to_numpy(dtype=float, na_value=np.nan)
        present = values[~np.isnan(values)]
        edges = (
            np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
            if len(present)
            else np.array([])
        )
        reference[column] = {"edges": edges.tolist(), "shares": _shares(values, edges).tolist()}
    return reference


def population_stability(reference: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """PSI of each reference column in ``frame``, with its status (ok, warn, alert)."""
    rows = []
    for column, ref in reference.items():
        values = frame[column].to_numpy(dtype=float, na_value=np.nan)
        expected = np.maximum(np.asarray(ref["shares"]), FLOOR)
        actual = np.maximum(_shares(values, np.asarray(ref["edges"])), FLOOR)
        rows.append((column, float(np.sum((actual - expected) * np.log(actual / expected)))))
    table = pd.DataFrame(rows, columns=["feature", "psi"])
    table["status"] = np.select(
        [table["psi"] >= ALERT, table["psi"] >= WARN], ["alert", "warn"], "ok"
    )
    return table.sort_values("psi", ascending=False, ignore_index=True)


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of ``values`` in each bin cut at ``edges``, plus the share missing."""
    missing = np.isnan(values)
    counts = np.bincount(
        np.searchsorted(edges, values[~missing], side="right"), minlength=len(edges) + 1
    )
    counts = np.append(counts, missing.sum())
    return counts / max(len(values), 1)
