"""Debt-relief schemes (反催收): agencies that sign up distressed debtors, take monthly fees
and file templated complaints in their name against lenders and collectors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import DebtReliefConfig
from pipeline.simulate import texts
from pipeline.simulate.codes import NO_ID
from pipeline.simulate.complaints import complaint_rows
from pipeline.simulate.population import DAY, MONTH, Period, ids
from pipeline.simulate.world import Fragment, transfers, truth_rows


def debt_relief_agencies(
    rng: np.random.Generator,
    cfg: DebtReliefConfig,
    period: Period,
    intermediaries: pd.DataFrame,
    debtors: pd.DataFrame,
) -> Fragment:
    advisors = np.flatnonzero(intermediaries["kind"].to_numpy() == "debt_advisor")
    illegal = rng.random(len(advisors)) < cfg.illegal_share
    # Illegal agencies sign up many clients; licensed advisors a few, for a one-off fee.
    client_counts = np.where(
        illegal, cfg.clients.integers(rng, len(advisors)), rng.integers(0, 4, len(advisors))
    )
    client_counts = np.minimum(client_counts, len(debtors) // max(len(advisors), 1))
    clients = rng.choice(len(debtors), client_counts.sum(), replace=False)
    advisor = np.repeat(np.arange(len(advisors)), client_counts)
    scheme = illegal[advisor]
    signed_t = debtors["distress_t"].to_numpy()[clients] + rng.integers(
        10 * DAY, 60 * DAY, len(clients)
    )
    months_paid = np.where(scheme, rng.integers(2, 6, len(clients)), 1)
    payer = np.repeat(np.arange(len(clients)), months_paid)
    month = np.arange(len(payer)) - np.repeat(np.cumsum(months_paid) - months_paid, months_paid)
    advisor_ids = intermediaries["intermediary_id"].to_numpy()[advisors]
    fees = transfers(
        debtors["account_id"].to_numpy()[clients][payer],
        advisor_ids[advisor[payer]],
        signed_t[payer] + month * MONTH + rng.integers(0, 3 * DAY, len(payer)),
        np.where(
            scheme[payer],
            cfg.monthly_fee.uniform(rng, len(payer)),
            rng.uniform(100, 300, len(payer)),
        ),
    )
    phone = intermediaries["phone_digits"].to_numpy()[advisors][advisor]
    filed = np.flatnonzero(scheme)
    complaints = complaint_rows(
        account_id=debtors["account_id"].to_numpy()[clients][filed],
        t=signed_t[filed] + rng.integers(DAY, 14 * DAY, len(filed)),
        category="collection_harassment",
        target_id=NO_ID,
        contact_phone=phone[filed],
        text=texts.scheme(rng, "debt_relief", advisor[filed], phone[filed]),
    )
    span = pd.DataFrame({"advisor": advisor, "t": signed_t})[scheme].groupby("advisor")["t"]
    first, last = span.min(), span.max()
    truth = truth_rows(
        entity_type="intermediary",
        entity_id=advisor_ids[first.index],
        typology="debt_relief_agency",
        gang_id=ids("DR", first.index.to_numpy()),
        active_from=first.to_numpy(),
        active_to=last.to_numpy() + 4 * MONTH,
    )
    return Fragment(
        transactions=fees[fees["t"] < period.seconds],
        complaints=complaints[complaints["t"] < period.seconds],
        truth=truth[truth["active_from_t"] < period.seconds],
    )
