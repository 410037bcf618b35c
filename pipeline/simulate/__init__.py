"""A simulated black- and gray-industry world written as raw contract tables.

``simulate`` is pure (config and seed in, tables out); ``write_world`` is the I/O edge.
The ground truth goes to ``_truth/``, which no training or scoring code reads.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import SimulateConfig
from pipeline.io import atomic_dir
from pipeline.simulate import pii
from pipeline.simulate.labels import investigate
from pipeline.simulate.loan_brokers import illegal_brokers
from pipeline.simulate.mules import ecommerce_sellers, mule_gangs
from pipeline.simulate.population import (
    DAY,
    Period,
    accounts_table,
    background_loans,
    background_transactions,
    device_events,
    ids,
    make_intermediaries,
    make_people,
)
from pipeline.simulate.world import Fragment

SIMULATION_MARKER = "_simulated.json"
TRUTH_DIR = "_truth"


def simulate(cfg: SimulateConfig, *, start: dt.date, seed: int) -> dict[str, pd.DataFrame]:
    """Generate every raw table plus ``_truth``; the same seed gives the same tables."""
    rng = np.random.default_rng(seed)
    start_ts = pd.Timestamp(start, tz="UTC")
    period = Period(
        start=start_ts, days=((start_ts + pd.DateOffset(months=cfg.months)) - start_ts).days
    )
    people = make_people(rng, cfg, period)
    intermediaries = make_intermediaries(rng, cfg, period)

    mules = mule_gangs(rng, cfg, period, people)
    brokers = illegal_brokers(rng, cfg, period, mules.people, intermediaries)
    people, intermediaries = brokers.people, brokers.intermediaries
    truth = pd.concat([mules.truth, brokers.truth], ignore_index=True)
    honest_brokers = intermediaries[
        (intermediaries["kind"] == "loan_broker")
        & ~intermediaries["intermediary_id"].isin(truth["entity_id"])
    ]
    fragments = [
        mules,
        brokers,
        ecommerce_sellers(rng, cfg, period, people),
        Fragment(
            transactions=background_transactions(rng, cfg, period, people),
            device_events=device_events(rng, cfg, period, people),
            loans=background_loans(rng, cfg, period, people, honest_brokers),
        ),
    ]
    innocents = pd.DataFrame({"entity_type": "account", "entity_id": people["account_id"]}).loc[
        lambda f: ~f["entity_id"].isin(truth["entity_id"])
    ]
    labels = investigate(rng, cfg, period, truth, innocents)
    return {
        "accounts": accounts_table(rng, people, period),
        "intermediaries": _intermediaries_table(rng, intermediaries),
        "transactions": _transactions_table(fragments, period),
        "device_events": _device_events_table(fragments, period),
        "loans": _loans_table(fragments, period),
        "labels": _timed(labels, period, confirmed_t="confirmed_at"),
        f"{TRUTH_DIR}/truth": _timed(
            truth, period, active_from_t="active_from", active_to_t="active_to"
        ),
    }


def _timed(frame: pd.DataFrame, period: Period, **renames: str) -> pd.DataFrame:
    """Turn simulation-second columns into UTC timestamps (negative seconds mean absent)."""
    out = frame.copy()
    for seconds_col, ts_col in renames.items():
        seconds = out.pop(seconds_col).to_numpy()
        out[ts_col] = period.timestamps(np.maximum(seconds, 0)).where(seconds >= 0)
    return out.reset_index(drop=True)


def _collect(fragments: list[Fragment], table: str) -> pd.DataFrame:
    parts = [getattr(f, table) for f in fragments if getattr(f, table) is not None]
    return pd.concat(parts, ignore_index=True)


def _transactions_table(fragments: list[Fragment], period: Period) -> pd.DataFrame:
    txns = _collect(fragments, "transactions")
    txns = txns[(txns["t"] < period.seconds) & (txns["amount"] > 0)]
    txns = txns.sort_values(["t", "src_id", "dst_id"], kind="stable", ignore_index=True)
    txns.insert(0, "txn_id", ids("T", np.arange(len(txns)), 9))
    return _timed(txns, period, t="ts")[
        ["txn_id", "ts", "src_id", "dst_id", "amount", "channel", "device_id"]
    ]


def _device_events_table(fragments: list[Fragment], period: Period) -> pd.DataFrame:
    events = _collect(fragments, "device_events")
    events = events.sort_values(["t", "account_id"], kind="stable", ignore_index=True)
    return _timed(events, period, t="ts")[["account_id", "ts", "device_id", "ip"]]


def _loans_table(fragments: list[Fragment], period: Period) -> pd.DataFrame:
    loans = _collect(fragments, "loans")
    loans = loans[loans["applied_t"] < period.seconds]
    loans = loans.sort_values(["applied_t", "account_id"], kind="stable", ignore_index=True)
    loans.insert(0, "loan_id", ids("L", np.arange(len(loans)), 8))
    term_end = np.where(loans["disbursed_t"] >= 0, loans["disbursed_t"] + 365 * DAY, -1)
    repaid_t = np.where((loans["defaulted_t"] < 0) & (term_end < period.seconds), term_end, -1)
    # Facts that become true after the window are not known yet.
    loans = loans.assign(
        disbursed_t=_known_by_end(loans["disbursed_t"], period),
        defaulted_t=_known_by_end(loans["defaulted_t"], period),
        repaid_t=repaid_t,
    )
    loans = _timed(
        loans,
        period,
        applied_t="applied_at",
        disbursed_t="disbursed_at",
        defaulted_t="defaulted_at",
        repaid_t="repaid_at",
    )
    return loans[
        [
            "loan_id",
            "account_id",
            "intermediary_id",
            "applied_at",
            "amount",
            "stated_income",
            "approved",
            "disbursed_at",
            "defaulted_at",
            "repaid_at",
            "device_id",
        ]
    ]


def _known_by_end(seconds: pd.Series, period: Period) -> np.ndarray:
    return np.where(seconds < period.seconds, seconds, -1)


def _intermediaries_table(rng: np.random.Generator, intermediaries: pd.DataFrame) -> pd.DataFrame:
    return intermediaries.assign(phone=pii.format_phones(rng, intermediaries["phone_digits"])).drop(
        columns=["phone_digits", "size"]
    )


def write_world(tables: dict[str, pd.DataFrame], out: Path, *, manifest: dict) -> None:
    """Write every table as Parquet into ``out``, all or nothing."""
    with atomic_dir(out) as staging:
        for name, frame in tables.items():
            target = staging / f"{name}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(target, index=False)
        (staging / SIMULATION_MARKER).write_text(json.dumps(manifest, indent=2, sort_keys=True))
