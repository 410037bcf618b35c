"""Mule and rented accounts run by gangs (两卡, 跑分).

Mostly new accounts receive from many payers, at night more than honest customers do, and
forward the money within hours, on a few devices and addresses the gang shares. Over the
months the gangs adapt: they forward more slowly, spread over more devices and take fewer
payments per account, so later months are harder to score than earlier ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import DriftConfig, MuleConfig
from pipeline.simulate import pii
from pipeline.simulate.population import DAY, HOUR, MONTH, Period, event_times, ids
from pipeline.simulate.world import Fragment, transfers, truth_rows

MAX_DEVICES_PER_GANG = 12


def mule_gangs(
    rng: np.random.Generator,
    cfg: MuleConfig,
    drift: DriftConfig,
    period: Period,
    people: pd.DataFrame,
) -> Fragment:
    individuals = np.flatnonzero(~people["is_business"].to_numpy() & ~people["recruited"])
    wanted = max(cfg.account_share * len(people), cfg.gang_size.low)
    sizes = cfg.gang_size.integers(rng, len(people))
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), wanted) + 1]
    members = rng.choice(individuals, sizes.sum(), replace=False)
    gang = np.repeat(np.arange(len(sizes)), sizes)
    first_member = np.searchsorted(gang, gang)

    # Gangs already at work when the data starts are part of the world too.
    gang_start = rng.integers(-90 * DAY, period.seconds - 30 * DAY, len(sizes))
    gang_end = np.minimum(gang_start + rng.integers(30, 120, len(sizes)) * DAY, period.seconds)
    devices = np.minimum(
        np.round(
            cfg.devices_per_gang.uniform(rng, len(sizes))
            * period.drift(gang_start, drift.mule_devices_factor)
        ),
        MAX_DEVICES_PER_GANG,
    ).astype(int)
    start, end = gang_start[gang], gang_end[gang]
    opened_t = people["opened_t"].to_numpy().copy()
    recruited = people["recruited"].to_numpy().copy()
    recruited[members] = True
    newly_opened = rng.random(len(members)) < 0.7
    opened_t[members] = np.where(
        newly_opened, start - rng.integers(3, 30, len(members)) * DAY, opened_t[members]
    )
    member_ids = people["account_id"].to_numpy()[members]
    member_device = gang * MAX_DEVICES_PER_GANG + rng.integers(0, devices[gang])

    rate = cfg.payments_per_day.uniform(rng, len(members)) * period.drift(
        start, drift.mule_payments_factor
    )
    receiver = np.repeat(np.arange(len(members)), rng.poisson(rate * (end - start) / DAY))
    received_t = event_times(rng, start[receiver], end[receiver], night_share=cfg.night_share)
    received = rng.lognormal(7.3, 0.7, len(receiver))
    delay = rng.exponential(
        cfg.forward_hours * HOUR * period.drift(received_t, drift.mule_forward_hours_factor)
    )
    layered = rng.random(len(receiver)) < 0.3
    peer = member_ids[first_member[receiver] + rng.integers(0, sizes[gang[receiver]])]
    cash_out = ids("C", gang[receiver] * 4 + rng.integers(0, 4, len(receiver)))
    transactions = pd.concat(
        [
            transfers(
                ids("P", rng.integers(0, 10**8, len(receiver))),
                member_ids[receiver],
                received_t,
                received,
                channel="transfer",
            ),
            transfers(
                member_ids[receiver],
                np.where(layered, peer, cash_out),
                received_t + 600 + delay.astype(np.int64),
                received * rng.uniform(0.92, 1.0, len(receiver)),
                device=ids("DG", member_device[receiver]),
            ),
        ],
        ignore_index=True,
    )

    who = np.repeat(np.arange(len(members)), rng.poisson(25 * (end - start) / MONTH))
    gang_ips = pii.ip_addresses(rng, 2 * len(sizes)).to_numpy()
    logins = pd.DataFrame(
        {
            "account_id": member_ids[who],
            "t": event_times(rng, start[who], end[who], night_share=cfg.night_share),
            # Mostly the member's own handset, sometimes another of the gang's.
            "device_id": ids(
                "DG",
                np.where(
                    rng.random(len(who)) < 0.8,
                    member_device[who],
                    gang[who] * MAX_DEVICES_PER_GANG + rng.integers(0, devices[gang[who]]),
                ),
            ),
            "ip": gang_ips[2 * gang[who] + rng.integers(0, 2, len(who))],
        }
    )
    return Fragment(
        people=people.assign(opened_t=opened_t, recruited=recruited),
        transactions=transactions[transactions["t"] < period.seconds],
        device_events=logins,
        truth=truth_rows(
            entity_type="account",
            entity_id=member_ids,
            typology="mule_account",
            gang_id=ids("MG", gang),
            active_from=start,
            active_to=end,
        ),
    )
