"""What each typology generator contributes to the simulated world."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.simulate.codes import NO_ID, code

# Simulation time of a fact that never happened (a loan never defaulted, a policy kept).
NEVER = -(2**62)


@dataclass(frozen=True)
class Fragment:
    """Rows a generator adds, with times in simulation seconds.

    ``people`` and ``intermediaries``, when set, replace the population the next generators
    see (a typology may recruit, re-register or re-license existing entities); the other
    tables are added to.
    """

    people: pd.DataFrame | None = None
    intermediaries: pd.DataFrame | None = None
    transactions: pd.DataFrame | None = None
    device_events: pd.DataFrame | None = None
    loans: pd.DataFrame | None = None
    complaints: pd.DataFrame | None = None
    collection_events: pd.DataFrame | None = None
    truth: pd.DataFrame | None = None


def collect(fragments: list[Fragment], table: str) -> pd.DataFrame:
    """All rows of one table across fragments."""
    parts = [getattr(f, table) for f in fragments if getattr(f, table) is not None]
    return pd.concat(parts, ignore_index=True)


def transfers(src, dst, t, amount, *, channel: str = "app", device=NO_ID) -> pd.DataFrame:
    """A batch of transactions in simulation seconds (amounts rounded to cents)."""
    return pd.DataFrame(
        {
            "src_id": src,
            "dst_id": dst,
            "t": t,
            "amount": pd.Series(amount, dtype="float64").round(2).to_numpy(),
            "channel": channel,
            "device_id": device,
        }
    )


def truth_rows(*, entity_type: str, entity_id, typology: str, gang_id, active_from, active_to):
    """Ground truth for bad entities: who, which typology, which gang, and when active."""
    return pd.DataFrame(
        {
            "entity_type": entity_type,
            "entity_id": entity_id,
            "typology": typology,
            "gang_id": gang_id,
            "active_from_t": active_from,
            "active_to_t": active_to,
        }
    )


def intermediary_scheme_truth(
    *,
    typology: str,
    gang_prefix: str,
    intermediary_ids: np.ndarray,
    collector_ids: np.ndarray,
    collector_owner: np.ndarray,
    active_from: np.ndarray,
    active_to: np.ndarray,
) -> pd.DataFrame:
    """Truth for schemes run by intermediaries: each one, and the collector accounts it
    controls (``collector_owner`` indexes ``intermediary_ids``), in one gang per scheme."""
    gang_ids = code(gang_prefix, np.arange(len(intermediary_ids)))
    return pd.concat(
        [
            truth_rows(
                entity_type="intermediary",
                entity_id=intermediary_ids,
                typology=typology,
                gang_id=gang_ids,
                active_from=active_from,
                active_to=active_to,
            ),
            truth_rows(
                entity_type="account",
                entity_id=collector_ids,
                typology=typology,
                gang_id=gang_ids[collector_owner],
                active_from=active_from[collector_owner],
                active_to=active_to[collector_owner],
            ),
        ],
        ignore_index=True,
    )


def with_collectors(people: pd.DataFrame, collector_ids: np.ndarray, phones: np.ndarray):
    """The population after a scheme took over ``collector_ids`` under new ``phones``."""
    return people.assign(
        phone_digits=phones,
        recruited=people["recruited"] | np.isin(people["account_id"], collector_ids),
    )
