"""What each typology generator contributes to the simulated world."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Fragment:
    """Rows a generator adds, in simulation seconds; ``people`` replaces the population."""

    people: pd.DataFrame | None = None
    intermediaries: pd.DataFrame | None = None
    transactions: pd.DataFrame | None = None
    device_events: pd.DataFrame | None = None
    loans: pd.DataFrame | None = None
    truth: pd.DataFrame | None = None
