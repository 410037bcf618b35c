"""Illegal loan intermediaries (非法贷款中介) that coach applicants and skim hidden fees.

A broker brings in clients with inflated stated income, often applying from the broker's
own devices; after disbursement each client pays a hidden fee to accounts the broker
controls. Some of those accounts are registered with the broker's phone, the others only
share its devices. Fee rates fall over the months as brokers grow more careful.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import DriftConfig, LoanBrokerConfig
from pipeline.simulate.population import DAY, MONTH, Period, event_times, ids, loan_applications
from pipeline.simulate.world import Fragment, intermediary_scheme_truth, transfers, with_collectors


def illegal_brokers(
    rng: np.random.Generator,
    cfg: LoanBrokerConfig,
    drift: DriftConfig,
    period: Period,
    people: pd.DataFrame,
    intermediaries: pd.DataFrame,
) -> Fragment:
    brokers = np.flatnonzero(intermediaries["kind"].to_numpy() == "loan_broker")
    count = max(1, round(len(brokers) * cfg.illegal_share))
    illegal = rng.choice(brokers, count, replace=False)
    broker_ids = intermediaries["intermediary_id"].to_numpy()[illegal]
    window_start = rng.integers(-60 * DAY, period.seconds - 90 * DAY, count)
    window_end = np.minimum(window_start + rng.integers(90, 240, count) * DAY, period.seconds)

    client_counts = cfg.clients.integers(rng, count)
    collector_counts = rng.integers(1, 4, count)
    individuals = np.flatnonzero(~people["is_business"].to_numpy() & ~people["recruited"])
    chosen = rng.choice(individuals, client_counts.sum() + collector_counts.sum(), replace=False)
    clients, collectors = chosen[: client_counts.sum()], chosen[client_counts.sum() :]
    client_broker = np.repeat(np.arange(count), client_counts)
    collector_broker = np.repeat(np.arange(count), collector_counts)
    broker_device = ids("DB", client_broker * 3 + rng.integers(0, 3, len(clients)))

    loans = loan_applications(
        rng,
        people=people,
        applicants=clients,
        applied_t=event_times(
            rng, window_start[client_broker], window_end[client_broker], night_share=0.02
        ),
        income_inflation=rng.uniform(1.2, 2.0, len(clients)),
        approval_rate=0.85,
        default_rate=cfg.client_default_rate,
    )
    on_broker_device = rng.random(len(clients)) < 0.4
    loans = loans.assign(
        intermediary_id=broker_ids[client_broker],
        device_id=np.where(on_broker_device, broker_device, loans["device_id"]),
    )

    paid = np.flatnonzero(loans["approved"].to_numpy())
    fee_t = loans["disbursed_t"].to_numpy()[paid] + rng.integers(DAY // 2, 5 * DAY, len(paid))
    fee_rate = cfg.fee_rate.uniform(rng, len(paid)) * period.drift(fee_t, drift.fee_rate_factor)
    payer_broker = client_broker[paid]
    collector_ids = people["account_id"].to_numpy()[collectors]
    to_collector = collector_ids[
        np.searchsorted(collector_broker, payer_broker)
        + rng.integers(0, collector_counts[payer_broker])
    ]
    fees = transfers(
        loans["account_id"].to_numpy()[paid],
        np.where(rng.random(len(paid)) < 0.8, to_collector, broker_ids[payer_broker]),
        fee_t,
        loans["amount"].to_numpy()[paid] * fee_rate,
        device=loans["device_id"].to_numpy()[paid],
    )
    passed = fees[np.isin(fees["dst_id"], collector_ids)]
    onward = transfers(
        passed["dst_id"].to_numpy(),
        ids("Y", rng.integers(0, 10**6, len(passed))),
        passed["t"].to_numpy() + rng.integers(DAY, 3 * DAY, len(passed)),
        passed["amount"].to_numpy() * 0.95,
    )

    # The broker's link to its collectors: its phone on some, its devices on the others.
    phones = people["phone_digits"].to_numpy().copy()
    on_phone = rng.random(len(collectors)) < cfg.phone_linked_collector_share
    broker_phone = intermediaries["phone_digits"].to_numpy()[illegal][collector_broker]
    phones[collectors[on_phone]] = broker_phone[on_phone]
    logins_per = rng.poisson(8 * (window_end - window_start)[collector_broker] / MONTH)
    who = np.repeat(np.arange(len(collectors)), logins_per)
    collector_logins = pd.DataFrame(
        {
            "account_id": collector_ids[who],
            "t": event_times(
                rng, window_start[collector_broker][who], window_end[collector_broker][who], 0.05
            ),
            "device_id": ids("DB", collector_broker[who] * 3 + rng.integers(0, 3, len(who))),
            "ip": None,
        }
    )

    licensed = intermediaries["licensed"].to_numpy().copy()
    licensed[illegal] = rng.random(count) < 0.5
    truth = intermediary_scheme_truth(
        typology="illegal_loan_intermediary",
        gang_prefix="LB",
        intermediary_ids=broker_ids,
        collector_ids=collector_ids,
        collector_owner=collector_broker,
        active_from=window_start,
        active_to=window_end,
    )
    transactions = pd.concat([fees, onward], ignore_index=True)
    return Fragment(
        people=with_collectors(people, collector_ids, phones),
        intermediaries=intermediaries.assign(licensed=licensed),
        transactions=transactions[transactions["t"] < period.seconds],
        device_events=collector_logins,
        loans=loans,
        truth=truth,
    )
