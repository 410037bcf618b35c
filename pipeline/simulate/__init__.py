"""A simulated black- and gray-industry world written as raw contract tables.

``simulate`` is pure (config and seed in, tables out); ``write_world`` is the I/O edge.
The ground truth goes to ``_truth/``, which no training or scoring code reads.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import SimulateConfig
from pipeline.io import atomic_dir
from pipeline.simulate import insurance, pii
from pipeline.simulate.codes import to_strings
from pipeline.simulate.collection import collection_agencies, distressed_debtors
from pipeline.simulate.complaints import agent_assisted_complaints, genuine_complaints
from pipeline.simulate.debt_relief import debt_relief_agencies
from pipeline.simulate.labels import investigate
from pipeline.simulate.loan_brokers import illegal_brokers
from pipeline.simulate.lookalikes import (
    broker_service_fees,
    ecommerce_sellers,
    payroll_funding,
    salaries,
    social_circles,
)
from pipeline.simulate.mules import mule_gangs
from pipeline.simulate.population import (
    DAY,
    Period,
    accounts_table,
    banking_intermediaries,
    device_events,
    everyday_transactions,
    honest_loans,
    ids,
    intermediaries_table,
    make_intermediaries,
    make_people,
)
from pipeline.simulate.surrender_agents import surrender_agents
from pipeline.simulate.world import NEVER, Fragment, collect

SIMULATION_MARKER = "_simulated.json"
TRUTH_DIR = "_truth"


BLOCK_ACCOUNTS = 50_000
PARTITIONED = ("transactions", "device_events")
WHOLE_TABLES = 8  # tables written in one piece, ``_truth/truth`` included


def part_count(cfg: SimulateConfig, block_accounts: int = BLOCK_ACCOUNTS) -> int:
    """How many parts ``simulate_parts`` yields: for progress bars."""
    blocks = -(-cfg.accounts // block_accounts)
    return WHOLE_TABLES + len(PARTITIONED) * (1 + blocks)


def simulate_parts(
    cfg: SimulateConfig, *, start: dt.date, seed: int, block_accounts: int = BLOCK_ACCOUNTS
) -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield ``(table, rows)`` parts of every raw table and of ``_truth/truth``.

    The schemes and everything small are generated first, for the whole population; the
    bulk (everyday payments, salaries, sellers' sales, logins) follows block by block of
    ``block_accounts`` customers, each block with its own seeded generator, so memory holds
    one block at a time. The same seed gives the same parts.
    """
    start_ts = pd.Timestamp(start, tz="UTC")
    period = Period(start_ts, (start_ts + pd.DateOffset(months=cfg.months) - start_ts).days)
    small_tables, schemes, people = _schemes_and_small_tables(
        np.random.default_rng(seed), cfg, period
    )
    for name, frame in small_tables.items():
        yield name, _with_string_ids(name, frame)
    del small_tables  # the bulk below needs only the people

    txn_ids = itertools.count()
    yield from _bulk_parts(schemes, period, txn_ids)
    del schemes
    all_accounts = people["account_id"].to_numpy()
    for number, first in enumerate(range(0, len(people), block_accounts)):
        block = people.iloc[first : first + block_accounts]
        block_rng = np.random.default_rng([seed, number])
        bulk = _bulk_block(block_rng, cfg, period, block, all_accounts)
        yield from _bulk_parts(bulk, period, txn_ids)


def _bulk_parts(bulk: tuple[pd.DataFrame, pd.DataFrame], period: Period, txn_ids):
    transactions, logins = bulk
    yield (
        "transactions",
        _with_string_ids("transactions", _transactions_table(transactions, period, txn_ids)),
    )
    yield "device_events", _with_string_ids("device_events", _device_events_table(logins, period))


def _schemes_and_small_tables(rng: np.random.Generator, cfg: SimulateConfig, period: Period):
    """Everything but the bulk: the small tables, the schemes' transactions and logins, and
    the final population (its locals are freed when it returns)."""
    people = make_people(rng, cfg.accounts, cfg.population, period)
    intermediaries = make_intermediaries(rng, cfg.accounts, cfg.population, period)
    people = banking_intermediaries(rng, people, intermediaries)

    mules = mule_gangs(rng, cfg.mules, cfg.drift, period, people)
    brokers = illegal_brokers(
        rng, cfg.loan_brokers, cfg.drift, period, mules.people, intermediaries
    )
    people, intermediaries = brokers.people, brokers.intermediaries
    honest_brokers = intermediaries[
        (intermediaries["kind"] == "loan_broker")
        & ~np.isin(intermediaries["intermediary_id"], brokers.truth["entity_id"])
    ]
    brokered = honest_loans(rng, cfg.population, period, people, honest_brokers)
    people, service_fees = broker_service_fees(
        rng, cfg.population, brokered, honest_brokers, people
    )
    loans = pd.concat([brokers.loans, brokered], ignore_index=True)

    insured = insurance.insured_people(rng, cfg.insurer, people)
    agents = intermediaries[intermediaries["kind"] == "insurance_agent"]
    policies = insurance.policies(rng, insured, agents)
    surrenders, policies = surrender_agents(
        rng, cfg.surrender_agents, period, people, intermediaries, insured, policies
    )
    people = surrenders.people
    policies, honest_refunds = insurance.ordinary_surrenders(
        rng, cfg.insurer, period, policies, insured
    )

    honest_agents = agents[~np.isin(agents["intermediary_id"], surrenders.truth["entity_id"])]
    n_agencies = int((intermediaries["kind"] == "collection_agency").sum())
    debtors = distressed_debtors(rng, cfg.collection, period, people, loans, n_agencies)
    fragments = [
        mules,
        brokers,
        surrenders,
        collection_agencies(rng, cfg.collection, period, intermediaries, debtors),
        debt_relief_agencies(rng, cfg.debt_relief, period, intermediaries, debtors),
        Fragment(
            transactions=pd.concat(
                [
                    payroll_funding(rng, period, people),
                    service_fees,
                    honest_refunds,
                    insurance.premiums_paid_to_agents(
                        rng, cfg.insurer, period, policies, insured, honest_agents
                    ),
                ],
                ignore_index=True,
            ),
            complaints=pd.concat(
                [
                    genuine_complaints(rng, cfg.insurer, period, people, insured, policies),
                    agent_assisted_complaints(
                        rng, cfg.insurer, period, honest_agents, insured, policies
                    ),
                ],
                ignore_index=True,
            ),
        ),
    ]
    truth = collect(fragments, "truth")
    innocents = pd.DataFrame({"entity_type": "account", "entity_id": people["account_id"]})
    innocents = innocents[~innocents["entity_id"].isin(truth["entity_id"])]
    labels = investigate(rng, cfg.labels, period, truth, innocents)
    small_tables = {
        "accounts": accounts_table(rng, people, insured, period),
        "intermediaries": intermediaries_table(rng, intermediaries),
        "loans": _loans_table(loans, period),
        "policies": _policies_table(policies, period),
        "complaints": _complaints_table(rng, fragments, period),
        "collection_events": _collection_events_table(fragments, period),
        "labels": _timed(labels, period, confirmed_t="confirmed_at"),
        f"{TRUTH_DIR}/truth": _timed(
            truth, period, active_from_t="active_from", active_to_t="active_to"
        ),
    }
    schemes = (collect(fragments, "transactions"), collect(fragments, "device_events"))
    return small_tables, schemes, people


def _bulk_block(
    rng: np.random.Generator,
    cfg: SimulateConfig,
    period: Period,
    block: pd.DataFrame,
    all_accounts: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    transactions = pd.concat(
        [
            everyday_transactions(rng, cfg.population, period, block, all_accounts),
            salaries(rng, period, block, all_accounts),
            ecommerce_sellers(rng, cfg.population, period, block),
            social_circles(rng, cfg.population, period, block),
        ],
        ignore_index=True,
    )
    return transactions, device_events(rng, cfg.population, period, block)


def simulate(cfg: SimulateConfig, *, start: dt.date, seed: int) -> dict[str, pd.DataFrame]:
    """Every table whole, for worlds small enough to hold in memory (tests, notebooks)."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for name, frame in simulate_parts(cfg, start=start, seed=seed):
        parts.setdefault(name, []).append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}


ID_COLUMNS = {
    "accounts": ["account_id"],
    "intermediaries": ["intermediary_id"],
    "transactions": ["txn_id", "src_id", "dst_id", "device_id"],
    "device_events": ["account_id", "device_id"],
    "loans": ["loan_id", "account_id", "intermediary_id", "device_id"],
    "policies": ["policy_id", "account_id", "intermediary_id"],
    "complaints": ["complaint_id", "account_id", "target_id"],
    "collection_events": ["event_id", "account_id", "agency_id"],
    "labels": ["entity_id"],
    f"{TRUTH_DIR}/truth": ["entity_id", "gang_id"],
}


def _with_string_ids(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(
        **{c: to_strings(frame[c]).to_pandas(types_mapper=pd.ArrowDtype) for c in ID_COLUMNS[name]}
    )


def _timed(frame: pd.DataFrame, period: Period, **renames: str) -> pd.DataFrame:
    """Turn simulation-second columns into UTC timestamps; ``NEVER`` becomes missing."""
    out = frame.copy()
    for seconds_col, ts_col in renames.items():
        seconds = out.pop(seconds_col).to_numpy()
        happened = seconds != NEVER
        out[ts_col] = period.timestamps(np.where(happened, seconds, 0)).where(happened)
    return out.reset_index(drop=True)


def _known_by_end(seconds: pd.Series, period: Period) -> np.ndarray:
    """Facts that become true after the window are not known yet."""
    return np.where(seconds < period.seconds, seconds, NEVER)


def _in_time_order(frame: pd.DataFrame, time_column: str) -> pd.DataFrame:
    """Rows by time; ties keep generation order, which the seed fixes (no string sort)."""
    order = np.argsort(frame[time_column].to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def _sorted_with_ids(frame: pd.DataFrame, time_column: str, id_column: str, prefix: str):
    frame = _in_time_order(frame, time_column)
    frame.insert(0, id_column, ids(prefix, np.arange(len(frame))))
    return frame


def _transactions_table(txns: pd.DataFrame, period: Period, txn_ids: Iterator[int]) -> pd.DataFrame:
    txns = txns[(txns["t"] >= 0) & (txns["t"] < period.seconds) & (txns["amount"] > 0)]
    txns = _in_time_order(txns, "t")
    txns.insert(0, "txn_id", ids("T", list(itertools.islice(txn_ids, len(txns)))))
    return _timed(txns, period, t="ts")[
        ["txn_id", "ts", "src_id", "dst_id", "amount", "channel", "device_id"]
    ]


def _device_events_table(events: pd.DataFrame, period: Period) -> pd.DataFrame:
    events = events[(events["t"] >= 0) & (events["t"] < period.seconds)]
    # Two logins of one account on one device in the same second are one event.
    events = _in_time_order(events, "t").drop_duplicates(["account_id", "t", "device_id"])
    return _timed(events, period, t="ts")[["account_id", "ts", "device_id", "ip"]]


def _loans_table(loans: pd.DataFrame, period: Period) -> pd.DataFrame:
    loans = loans[loans["applied_t"] < period.seconds]
    loans = _sorted_with_ids(loans, "applied_t", "loan_id", "L")
    disbursed = loans["disbursed_t"].to_numpy()
    term_end = np.where(disbursed != NEVER, disbursed + 365 * DAY, NEVER)
    loans = loans.assign(
        disbursed_t=_known_by_end(loans["disbursed_t"], period),
        defaulted_t=_known_by_end(loans["defaulted_t"], period),
        repaid_t=np.where(
            (loans["defaulted_t"] == NEVER) & (term_end < period.seconds), term_end, NEVER
        ),
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


def _policies_table(policies: pd.DataFrame, period: Period) -> pd.DataFrame:
    policies = _sorted_with_ids(insurance.policies_table(policies), "issued_t", "policy_id", "PL")
    issued = period.timestamps(policies.pop("issued_t").to_numpy())
    policies = _timed(policies, period, surrendered_t="surrendered_at")
    policies.insert(3, "issued_at", issued)
    return policies[
        [
            "policy_id",
            "account_id",
            "intermediary_id",
            "issued_at",
            "premium",
            "surrendered_at",
            "refund_amount",
        ]
    ]


def _complaints_table(rng: np.random.Generator, fragments: list[Fragment], period: Period):
    complaints = collect(fragments, "complaints")
    complaints = complaints[(complaints["t"] >= 0) & (complaints["t"] < period.seconds)]
    complaints = _sorted_with_ids(complaints, "t", "complaint_id", "CP")
    complaints["contact_phone"] = pii.format_phones(
        rng, pd.Series(complaints["contact_phone"].to_numpy())
    ).to_numpy()
    return _timed(complaints, period, t="ts")[
        ["complaint_id", "account_id", "ts", "category", "target_id", "contact_phone", "text"]
    ]


def _collection_events_table(fragments: list[Fragment], period: Period) -> pd.DataFrame:
    events = collect(fragments, "collection_events")
    events = events[(events["t"] >= 0) & (events["t"] < period.seconds)]
    events = _sorted_with_ids(events, "t", "event_id", "CE")
    return _timed(events, period, t="ts")[
        ["event_id", "account_id", "agency_id", "ts", "method", "contacted_third_party"]
    ]


def write_world(parts: Iterable[tuple[str, pd.DataFrame]], out: Path, *, manifest: dict) -> None:
    """Write the parts as Parquet into ``out``, all or nothing; the bulk tables become
    directories of part files, which the data contract accepts."""
    counters: dict[str, itertools.count] = {}
    with atomic_dir(out) as staging:
        for name, frame in parts:
            if name in PARTITIONED:
                number = next(counters.setdefault(name, itertools.count()))
                target = staging / name / f"part-{number:05d}.parquet"
            else:
                target = staging / f"{name}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(target, index=False)
        (staging / SIMULATION_MARKER).write_text(json.dumps(manifest, indent=2, sort_keys=True))
