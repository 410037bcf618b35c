"""The honest background: customers, intermediaries, everyday money, devices and loans.

Every generator is vectorized: counts per entity are drawn first, then rows are laid out
with ``np.repeat`` so that a million accounts cost seconds, not minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config import SimulateConfig
from pipeline.simulate import pii

DAY = 86_400
HOUR = 3_600
REGIONS = pd.Series(
    ["guangdong", "zhejiang", "jiangsu", "shandong", "henan", "sichuan", "hubei", "fujian"]
)
REGION_CODES = np.array([440100, 330100, 320100, 370100, 410100, 510100, 420100, 350100])
OCCUPATIONS = np.array(["office", "factory", "retail", "farmer", "student", "retired", "self"])
INTERMEDIARY_KINDS = np.array(
    ["loan_broker", "insurance_agent", "collection_agency", "debt_advisor", "merchant", "other"]
)
INTERMEDIARY_KIND_WEIGHTS = np.array([0.4, 0.25, 0.1, 0.05, 0.15, 0.05])


@dataclass(frozen=True)
class Period:
    """The simulated window; events are placed in seconds from ``start``."""

    start: pd.Timestamp
    days: int

    @property
    def seconds(self) -> int:
        return self.days * DAY

    def timestamps(self, seconds: np.ndarray) -> pd.Series:
        return self.start + pd.to_timedelta(np.asarray(seconds, dtype=np.int64), unit="s")


def ids(prefix: str, numbers: np.ndarray, width: int = 7) -> pd.Series:
    return prefix + pd.Series(numbers).astype(str).str.zfill(width)


def event_times(
    rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, night_share: float | np.ndarray
) -> np.ndarray:
    """Times in ``[lo, hi)`` with a daytime rhythm, or uniformly at night for ``night_share``."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo + 1)
    raw = lo + (rng.random(len(lo)) * (hi - lo)).astype(np.int64)
    at_night = rng.random(len(lo)) < night_share
    daytime = np.clip(rng.normal(14 * HOUR, 3 * HOUR, len(lo)), 7 * HOUR, 23 * HOUR)
    time_of_day = np.where(at_night, rng.random(len(lo)) * 5 * HOUR, daytime).astype(np.int64)
    placed = raw // DAY * DAY + time_of_day
    return np.clip(placed, lo, hi - 1)


def make_people(rng: np.random.Generator, cfg: SimulateConfig, period: Period) -> pd.DataFrame:
    """One row per account with the hidden attributes the generators need."""
    n = cfg.accounts
    is_new = rng.random(n) < cfg.new_account_share
    opened_t = np.where(
        is_new,
        (rng.random(n) * period.seconds).astype(np.int64),
        -(rng.random(n) * 6 * 365 * DAY).astype(np.int64) - DAY,
    )
    region = rng.integers(0, len(REGIONS), n)
    birth_year = rng.integers(1950, 2005, n)
    phone = pii.mobile_numbers(rng, n)
    device = ids("D", np.arange(n), 8)
    shares_family_device = rng.random(n) < cfg.family_device_share
    # A family member uses the device of the previous account: honest device sharing.
    device = device.where(~shares_family_device, device.shift(1).fillna(device))
    return pd.DataFrame(
        {
            "account_id": ids("A", np.arange(n)),
            "opened_t": opened_t,
            "is_business": rng.random(n) < cfg.business_share,
            "region": REGIONS.to_numpy()[region],
            "region_code": REGION_CODES[region],
            "birth_year": birth_year,
            "occupation": rng.choice(OCCUPATIONS, n),
            "phone_digits": phone,
            "monthly_income": np.round(rng.lognormal(8.7, 0.45, n), 2),
            "activity": rng.lognormal(0.0, 0.6, n),
            "device_id": device,
            "home_ip": pii.ip_addresses(rng, n),
        }
    )


def accounts_table(rng: np.random.Generator, people: pd.DataFrame, period: Period) -> pd.DataFrame:
    n = len(people)
    return pd.DataFrame(
        {
            "account_id": people["account_id"],
            "opened_at": period.timestamps(people["opened_t"].to_numpy()),
            "customer_type": np.where(people["is_business"], "business", "individual"),
            "region": people["region"],
            "channel": rng.choice(np.array(["branch", "app", "web", "partner"]), n),
            "birth_year": people["birth_year"].where(~people["is_business"]).astype("Int64"),
            "occupation": people["occupation"].where(~people["is_business"]),
            "phone": pii.format_phones(rng, people["phone_digits"]),
            "id_number": pii.id_numbers(
                rng, people["birth_year"].to_numpy(), people["region_code"].to_numpy()
            ),
            "institution": "bank",
        }
    )


def make_intermediaries(
    rng: np.random.Generator, cfg: SimulateConfig, period: Period
) -> pd.DataFrame:
    n = max(20, round(cfg.accounts * cfg.intermediaries_per_1000_accounts / 1000))
    kind = rng.choice(INTERMEDIARY_KINDS, n, p=INTERMEDIARY_KIND_WEIGHTS)
    return pd.DataFrame(
        {
            "intermediary_id": ids("I", np.arange(n), 5),
            "kind": kind,
            "registered_at": period.timestamps(-(rng.random(n) * 8 * 365 * DAY).astype(np.int64)),
            "licensed": rng.random(n) < 0.8,
            "region": REGIONS.to_numpy()[rng.integers(0, len(REGIONS), n)],
            "phone_digits": pii.mobile_numbers(rng, n),
            "size": rng.lognormal(0.0, 0.8, n),
        }
    )


def _active_window(people: pd.DataFrame, period: Period) -> tuple[np.ndarray, np.ndarray]:
    lo = np.maximum(people["opened_t"].to_numpy(), 0)
    return lo, np.full(len(people), period.seconds, dtype=np.int64)


def background_transactions(
    rng: np.random.Generator, cfg: SimulateConfig, period: Period, people: pd.DataFrame
) -> pd.DataFrame:
    """Salaries, card spending and transfers between customers, with a year-end peak."""
    lo, hi = _active_window(people, period)
    months_active = (hi - lo) / (30 * DAY)
    counts = rng.poisson(cfg.txns_per_account_month * people["activity"] * months_active)
    owner = np.repeat(np.arange(len(people)), counts)
    t = event_times(rng, lo[owner], hi[owner], night_share=0.03)
    # Seasonality: part of the spending moves to the last weeks of each year.
    festive = rng.random(len(t)) < 0.08
    year_end = period.start + pd.offsets.YearEnd(0)
    peak = (year_end - period.start).total_seconds() - rng.random(len(t)) * 20 * DAY
    t = np.where(festive & (peak > lo[owner]) & (peak < hi[owner]), peak, t).astype(np.int64)
    account_ids = people["account_id"].to_numpy()
    to_customer = rng.random(len(t)) < 0.12
    counterpart = np.where(
        to_customer,
        account_ids[rng.integers(0, len(people), len(t))],
        ids("X", rng.integers(0, 20_000, len(t))).to_numpy(),
    )
    incoming = rng.random(len(t)) < 0.3
    own = account_ids[owner]
    app = rng.random(len(t)) < 0.7
    spending = pd.DataFrame(
        {
            "src_id": np.where(incoming, counterpart, own),
            "dst_id": np.where(incoming, own, counterpart),
            "t": t,
            "amount": np.round(rng.lognormal(5.0, 1.1, len(t)), 2),
            "channel": np.where(app, "app", rng.choice(np.array(["pos", "atm", "branch"]), len(t))),
            "device_id": np.where(app & ~incoming, people["device_id"].to_numpy()[owner], None),
        }
    )
    return pd.concat([spending, _salaries(rng, period, people)], ignore_index=True)


def _salaries(rng: np.random.Generator, period: Period, people: pd.DataFrame) -> pd.DataFrame:
    earners = np.flatnonzero(~people["is_business"].to_numpy())
    months = period.days // 30
    owner = np.repeat(earners, months)
    month = np.tile(np.arange(months), len(earners))
    t = month * 30 * DAY + 9 * DAY + 10 * HOUR + rng.integers(0, 4 * HOUR, len(owner))
    paid = t >= people["opened_t"].to_numpy()[owner]
    owner, t = owner[paid], t[paid]
    return pd.DataFrame(
        {
            "src_id": ids("E", owner % 997, 4).to_numpy(),
            "dst_id": people["account_id"].to_numpy()[owner],
            "t": t,
            "amount": np.round(people["monthly_income"].to_numpy()[owner], 2),
            "channel": "transfer",
            "device_id": None,
        }
    )


def device_events(
    rng: np.random.Generator, cfg: SimulateConfig, period: Period, people: pd.DataFrame
) -> pd.DataFrame:
    lo, hi = _active_window(people, period)
    counts = rng.poisson(cfg.logins_per_account_month * (hi - lo) / (30 * DAY))
    owner = np.repeat(np.arange(len(people)), counts)
    away = rng.random(len(owner)) < 0.2
    return pd.DataFrame(
        {
            "account_id": people["account_id"].to_numpy()[owner],
            "t": event_times(rng, lo[owner], hi[owner], night_share=0.05),
            "device_id": people["device_id"].to_numpy()[owner],
            "ip": np.where(
                away,
                pii.ip_addresses(rng, len(owner)).to_numpy(),
                people["home_ip"].to_numpy()[owner],
            ),
        }
    )


def loan_applications(
    rng: np.random.Generator,
    *,
    people: pd.DataFrame,
    applicants: np.ndarray,
    applied_t: np.ndarray,
    income_inflation: np.ndarray,
    approval_rate: float,
    default_rate: float,
) -> pd.DataFrame:
    """Loans for the given applicants; facts carry their own times (no status column)."""
    n = len(applicants)
    approved = rng.random(n) < approval_rate
    disbursed_t = applied_t + rng.integers(1 * DAY, 5 * DAY, n)
    defaulted = approved & (rng.random(n) < default_rate)
    return pd.DataFrame(
        {
            "account_id": people["account_id"].to_numpy()[applicants],
            "applied_t": applied_t,
            "amount": np.round(rng.lognormal(10.3, 0.6, n), -2),
            "stated_income": np.round(
                people["monthly_income"].to_numpy()[applicants] * income_inflation, 0
            ),
            "approved": approved,
            "disbursed_t": np.where(approved, disbursed_t, -1),
            "defaulted_t": np.where(defaulted, disbursed_t + rng.integers(45, 240, n) * DAY, -1),
            "device_id": people["device_id"].to_numpy()[applicants],
        }
    )


def background_loans(
    rng: np.random.Generator,
    cfg: SimulateConfig,
    period: Period,
    people: pd.DataFrame,
    honest_brokers: pd.DataFrame,
) -> pd.DataFrame:
    """Ordinary loans; a quarter come through licensed brokers, weighted by their size."""
    individuals = np.flatnonzero(~people["is_business"].to_numpy())
    applicants = individuals[rng.random(len(individuals)) < cfg.loan_applicant_share]
    lo, hi = _active_window(people.iloc[applicants], period)
    loans = loan_applications(
        rng,
        people=people,
        applicants=applicants,
        applied_t=event_times(rng, lo, hi, night_share=0.02),
        income_inflation=rng.lognormal(0.05, 0.12, len(applicants)),
        approval_rate=0.75,
        default_rate=cfg.honest_default_rate,
    )
    weights = honest_brokers["size"].to_numpy() / honest_brokers["size"].sum()
    referred = rng.random(len(loans)) < 0.25
    broker = honest_brokers["intermediary_id"].to_numpy()[
        rng.choice(len(honest_brokers), len(loans), p=weights)
    ]
    return loans.assign(intermediary_id=np.where(referred, broker, None))
