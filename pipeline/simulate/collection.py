"""Debt collection: lawful agencies, and improper ones (违规催收) that call at night, too
often, and reach third parties. Debtors are loan defaulters and distressed card holders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import CollectionConfig
from pipeline.simulate import texts
from pipeline.simulate.complaints import complaint_rows
from pipeline.simulate.population import DAY, HOUR, Period, event_times, ids
from pipeline.simulate.world import NEVER, Fragment, truth_rows


def distressed_debtors(
    rng: np.random.Generator,
    cfg: CollectionConfig,
    period: Period,
    people: pd.DataFrame,
    loans: pd.DataFrame,
    agencies: int,
) -> pd.DataFrame:
    """Who falls behind and when: loan defaulters plus card holders, enough to keep the
    agencies busy (``debtors_per_agency``)."""
    defaulted = loans[(loans["defaulted_t"] != NEVER) & (loans["defaulted_t"] < period.seconds)]
    wanted = int(cfg.debtors_per_agency.integers(rng, max(agencies, 1)).sum())
    individuals = np.flatnonzero(~people["is_business"].to_numpy())
    cards = rng.choice(
        individuals, min(max(wanted - len(defaulted), 0), len(individuals)), replace=False
    )
    debtors = pd.DataFrame(
        {
            "account_id": np.concatenate(
                [defaulted["account_id"].to_numpy(), people["account_id"].to_numpy()[cards]]
            ),
            "distress_t": np.concatenate(
                [defaulted["defaulted_t"].to_numpy(), rng.integers(0, period.seconds, len(cards))]
            ),
            "phone_digits": np.concatenate(
                [
                    people.set_index("account_id")["phone_digits"]
                    .reindex(defaulted["account_id"])
                    .to_numpy(),
                    people["phone_digits"].to_numpy()[cards],
                ]
            ),
        }
    )
    return debtors.drop_duplicates("account_id", ignore_index=True)


def collection_agencies(
    rng: np.random.Generator,
    cfg: CollectionConfig,
    period: Period,
    intermediaries: pd.DataFrame,
    debtors: pd.DataFrame,
) -> Fragment:
    agencies = intermediaries[intermediaries["kind"] == "collection_agency"]
    improper = rng.random(len(agencies)) < cfg.improper_share
    n = len(agencies)
    # Conduct varies by agency: some lawful ones are pushy, some improper ones restrained.
    calls_per_day = np.where(
        improper,
        cfg.improper_calls_per_day.uniform(rng, n),
        cfg.lawful_calls_per_day.uniform(rng, n),
    )
    night_share = np.where(
        improper, cfg.improper_night_share.uniform(rng, n), cfg.lawful_night_share.uniform(rng, n)
    )
    third_party_share = np.where(
        improper,
        cfg.improper_third_party_share.uniform(rng, n),
        cfg.lawful_third_party_share.uniform(rng, n),
    )
    agency = rng.integers(0, len(agencies), len(debtors))
    bad = improper[agency]
    start = debtors["distress_t"].to_numpy() + rng.integers(5 * DAY, 30 * DAY, len(debtors))
    end = np.minimum(start + rng.integers(60, 120, len(debtors)) * DAY, period.seconds)
    rate = calls_per_day[agency]
    debtor = np.repeat(
        np.arange(len(debtors)), rng.poisson(rate * np.maximum(end - start, 0) / DAY)
    )
    events = pd.DataFrame(
        {
            "account_id": debtors["account_id"].to_numpy()[debtor],
            "agency_id": agencies["intermediary_id"].to_numpy()[agency[debtor]],
            "t": _contact_times(rng, start[debtor], end[debtor], night_share[agency[debtor]]),
            "method": np.array(["call", "sms", "visit"])[
                rng.choice(3, len(debtor), p=[0.8, 0.18, 0.02])
            ],
            "contacted_third_party": rng.random(len(debtor)) < third_party_share[agency[debtor]],
        }
    )
    complains = (end > start) & (rng.random(len(debtors)) < np.where(bad, 0.25, 0.03))
    complaints = complaint_rows(
        account_id=debtors["account_id"].to_numpy()[complains],
        t=event_times(rng, start[complains], end[complains], 0.1),
        category="collection_harassment",
        target_id=agencies["intermediary_id"].to_numpy()[agency[complains]],
        contact_phone=debtors["phone_digits"].to_numpy()[complains],
        text=texts.genuine(rng, np.full(complains.sum(), "collection_harassment")),
    )
    served = pd.DataFrame({"agency": agency, "start": start, "end": end})[end > start]
    span = served.groupby("agency").agg(active_from=("start", "min"), active_to=("end", "max"))
    bad_agencies = span[improper[span.index]]
    truth = truth_rows(
        entity_type="intermediary",
        entity_id=agencies["intermediary_id"].to_numpy()[bad_agencies.index],
        typology="improper_collection",
        gang_id=ids("IC", bad_agencies.index.to_numpy()),
        active_from=bad_agencies["active_from"].to_numpy(),
        active_to=bad_agencies["active_to"].to_numpy(),
    )
    return Fragment(collection_events=events, complaints=complaints, truth=truth)


def _contact_times(rng: np.random.Generator, lo, hi, night_share) -> np.ndarray:
    """Office hours (8 am to 9 pm), or the early morning and late evening for ``night_share``."""
    moment = lo + (rng.random(len(lo)) * np.maximum(hi - lo, 1)).astype(np.int64)
    day = moment // DAY * DAY  # midnight of that day, so the hour drawn below is the hour
    late = rng.random(len(lo)) < night_share
    evening = np.where(rng.random(len(lo)) < 0.5, 21 * HOUR, 5 * HOUR)
    hour = np.where(
        late,
        evening + rng.integers(0, 3 * HOUR, len(lo)),
        rng.integers(8 * HOUR, 21 * HOUR, len(lo)),
    )
    return np.clip(day + hour, lo, np.maximum(hi - 1, lo))
