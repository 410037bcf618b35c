"""Illegal loan intermediaries (非法贷款中介) that coach applicants and skim hidden fees."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import SimulateConfig
from pipeline.simulate.population import DAY, Period, event_times, ids, loan_applications
from pipeline.simulate.world import Fragment


def illegal_brokers(
    rng: np.random.Generator,
    cfg: SimulateConfig,
    period: Period,
    people: pd.DataFrame,
    intermediaries: pd.DataFrame,
) -> Fragment:
    """Brokers whose clients' loans pay 10-30 % to accounts sharing the broker's phone."""
    brokers = np.flatnonzero(intermediaries["kind"].to_numpy() == "loan_broker")
    count = max(1, round(len(brokers) * cfg.illegal_broker_share))
    illegal = rng.choice(brokers, count, replace=False)
    broker_ids = intermediaries["intermediary_id"].to_numpy()[illegal]
    window_start = rng.integers(0, period.seconds - 90 * DAY, count)
    window_end = np.minimum(window_start + rng.integers(90, 240, count) * DAY, period.seconds)

    client_counts = rng.integers(cfg.broker_clients[0], cfg.broker_clients[1] + 1, count)
    collector_counts = rng.integers(1, 4, count)
    individuals = np.flatnonzero(~people["is_business"].to_numpy())
    chosen = rng.choice(individuals, client_counts.sum() + collector_counts.sum(), replace=False)
    clients, collectors = chosen[: client_counts.sum()], chosen[client_counts.sum() :]
    client_broker = np.repeat(np.arange(count), client_counts)
    collector_broker = np.repeat(np.arange(count), collector_counts)

    # Collectors are registered with the broker's phone: the link investigators follow.
    phones = people["phone_digits"].to_numpy().copy()
    phones[collectors] = intermediaries["phone_digits"].to_numpy()[illegal][collector_broker]
    shared_device = rng.random(len(clients)) < 0.7
    device = np.where(
        shared_device,
        ids("DB", client_broker * 3 + rng.integers(0, 3, len(clients)), 6).to_numpy(),
        people["device_id"].to_numpy()[clients],
    )
    loans = loan_applications(
        rng,
        people=people,
        applicants=clients,
        applied_t=event_times(
            rng, window_start[client_broker], window_end[client_broker], night_share=0.02
        ),
        income_inflation=rng.uniform(1.5, 3.0, len(clients)),
        approval_rate=0.85,
        default_rate=cfg.broker_client_default_rate,
    ).assign(intermediary_id=broker_ids[client_broker], device_id=device)

    paid = loans["approved"].to_numpy()
    fee_payer = np.flatnonzero(paid)
    fee_t = loans["disbursed_t"].to_numpy()[fee_payer] + rng.integers(
        DAY // 2, 5 * DAY, len(fee_payer)
    )
    payer_broker = client_broker[fee_payer]
    first_collector = np.searchsorted(collector_broker, payer_broker)
    collector_ids = people["account_id"].to_numpy()[collectors]
    to_collector = collector_ids[first_collector + rng.integers(0, collector_counts[payer_broker])]
    fees = np.round(
        loans["amount"].to_numpy()[fee_payer] * rng.uniform(*cfg.broker_fee_rate, len(fee_payer)),
        2,
    )
    fee_flows = pd.DataFrame(
        {
            "src_id": loans["account_id"].to_numpy()[fee_payer],
            "dst_id": np.where(
                rng.random(len(fee_payer)) < 0.7, to_collector, broker_ids[payer_broker]
            ),
            "t": fee_t,
            "amount": fees,
            "channel": "app",
            "device_id": device[fee_payer],
        }
    )
    # Collectors pass the fees on to the broker's own people within a few days.
    passed = fee_flows[fee_flows["dst_id"].isin(collector_ids)]
    onward = pd.DataFrame(
        {
            "src_id": passed["dst_id"].to_numpy(),
            "dst_id": ids("Y", rng.integers(0, 10**6, len(passed)), 7).to_numpy(),
            "t": passed["t"].to_numpy() + rng.integers(DAY, 3 * DAY, len(passed)),
            "amount": np.round(passed["amount"].to_numpy() * 0.95, 2),
            "channel": "app",
            "device_id": None,
        }
    )
    transactions = pd.concat([fee_flows, onward], ignore_index=True)

    licensed = intermediaries["licensed"].to_numpy().copy()
    licensed[illegal] = rng.random(count) < 0.4
    gang_ids = ids("LB", np.arange(count), 4).to_numpy()
    truth = pd.concat(
        [
            pd.DataFrame(
                {
                    "entity_type": "intermediary",
                    "entity_id": broker_ids,
                    "gang_id": gang_ids,
                    "active_from_t": window_start,
                    "active_to_t": window_end,
                }
            ),
            pd.DataFrame(
                {
                    "entity_type": "account",
                    "entity_id": collector_ids,
                    "gang_id": gang_ids[collector_broker],
                    "active_from_t": window_start[collector_broker],
                    "active_to_t": window_end[collector_broker],
                }
            ),
        ],
        ignore_index=True,
    ).assign(typology="illegal_loan_intermediary")
    return Fragment(
        people=people.assign(phone_digits=phones),
        intermediaries=intermediaries.assign(licensed=licensed),
        transactions=transactions[transactions["t"] < period.seconds],
        loans=loans,
        truth=truth,
    )
