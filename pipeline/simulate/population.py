"""The honest background: customers, intermediaries, everyday money, devices and loans.

Every generator is vectorized: counts per entity are drawn first, then rows are laid out
with ``np.repeat`` so that a million accounts cost seconds, not minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config import PopulationConfig
from pipeline.simulate import pii
from pipeline.simulate.codes import NO_ID, code
from pipeline.simulate.world import NEVER, transfers

DAY = 86_400
HOUR = 3_600
MONTH = 30 * DAY
REGIONS = np.array(
    ["guangdong", "zhejiang", "jiangsu", "shandong", "henan", "sichuan", "hubei", "fujian"]
)
REGION_CODES = np.array([440100, 330100, 320100, 370100, 410100, 510100, 420100, 350100])
OCCUPATIONS = np.array(["office", "factory", "retail", "farmer", "student", "retired", "self"])
INTERMEDIARY_KINDS = np.array(
    ["loan_broker", "insurance_agent", "collection_agency", "debt_advisor", "merchant", "other"]
)
INTERMEDIARY_KIND_WEIGHTS = np.array([0.33, 0.3, 0.16, 0.08, 0.09, 0.04])


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

    def drift(self, t: np.ndarray, factor_at_end: float) -> np.ndarray:
        """A multiplier moving linearly from 1 at the start to ``factor_at_end`` at the end."""
        progress = np.clip(np.asarray(t, dtype=float) / self.seconds, 0, 1)
        return 1 + (factor_at_end - 1) * progress


def ids(prefix: str, numbers) -> np.ndarray:
    """Integer identifier codes (see ``codes``): strings only when the tables are written."""
    return code(prefix, numbers)


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
    return np.clip(raw // DAY * DAY + time_of_day, lo, hi - 1)


def groups_of(rng: np.random.Generator, members: np.ndarray, size_low: int, size_high: int):
    """Split ``members`` (shuffled) into consecutive groups; returns each member's group."""
    sizes = rng.integers(size_low, size_high + 1, len(members) // max(size_low, 1) + 1)
    group = np.repeat(np.arange(len(sizes)), sizes)[: len(members)]
    return rng.permutation(members), group


def make_people(rng: np.random.Generator, n: int, cfg: PopulationConfig, period: Period):
    """One row per bank customer with the hidden attributes the generators need.

    Families share one phone number and one device; a quarter of customers sit behind a
    shared office or campus address. Both are honest reasons for shared identifiers.
    """
    is_new = rng.random(n) < cfg.new_account_share
    opened_t = np.where(
        is_new,
        (rng.random(n) * period.seconds).astype(np.int64),
        -(rng.random(n) * 6 * 365 * DAY).astype(np.int64) - DAY,
    )
    region = rng.integers(0, len(REGIONS), n)
    birth_year = rng.integers(1950, 2005, n)
    phone = pii.mobile_numbers(rng, n).to_numpy()
    device = ids("D", np.arange(n))
    # Many customers also use a tablet, a laptop or a replaced handset.
    extra_devices = rng.choice(5, n, p=[0.55, 0.27, 0.11, 0.05, 0.02])
    in_family = np.flatnonzero(rng.random(n) < cfg.family_share)
    members, family = groups_of(rng, in_family, int(cfg.family_size.low), int(cfg.family_size.high))
    head = members[np.searchsorted(family, family)]
    phone[members], device[members] = phone[head], device[head]
    terminal_users = rng.random(n) < cfg.shared_terminal_share
    terminal = np.where(
        terminal_users, ids("DK", rng.integers(0, max(1, terminal_users.sum() // 15), n)), NO_ID
    )
    is_business = rng.random(n) < cfg.business_share
    payroll = np.flatnonzero(is_business & (rng.random(n) < cfg.payroll_share))
    employer = np.full(n, -1)
    employed = ~is_business & (rng.random(n) < 0.4) & (len(payroll) > 0)
    employer[employed] = rng.choice(payroll, employed.sum()) if len(payroll) else []
    home_ip = pii.ip_addresses(rng, n).to_numpy()
    behind_shared = np.flatnonzero(rng.random(n) < cfg.shared_ip_share)
    shared_pool = pii.ip_addresses(rng, max(1, len(behind_shared) // 30)).to_numpy()
    home_ip[behind_shared] = shared_pool[rng.integers(0, len(shared_pool), len(behind_shared))]
    return pd.DataFrame(
        {
            "account_id": ids("A", np.arange(n)),
            "opened_t": opened_t,
            "is_business": is_business,
            "employer": employer,  # row of the payroll account paying the salary, or -1
            "region": REGIONS[region],
            "birth_year": birth_year,
            "occupation": rng.choice(OCCUPATIONS, n),
            "phone_digits": phone,
            "id_number": pii.id_numbers(rng, birth_year, REGION_CODES[region]).to_numpy(),
            "monthly_income": np.round(rng.lognormal(8.7, 0.45, n), 2),
            "activity": rng.lognormal(0.0, 0.6, n),
            "device_id": device,
            "extra_devices": extra_devices,
            "terminal": terminal,  # a shop or kiosk device the customer sometimes uses
            "home_ip": home_ip,
            # Set once a scheme controls the account, so no account serves two gangs.
            "recruited": np.zeros(n, dtype=bool),
        }
    )


def accounts_table(
    rng: np.random.Generator, people: pd.DataFrame, insured: pd.DataFrame, period: Period
) -> pd.DataFrame:
    """Bank accounts and insurer accounts; the same person carries the same phone and id."""
    bank = pd.DataFrame(
        {
            "account_id": people["account_id"],
            "opened_at": period.timestamps(people["opened_t"].to_numpy()),
            "customer_type": np.where(people["is_business"], "business", "individual"),
            "region": people["region"],
            "channel": rng.choice(np.array(["branch", "app", "web", "partner"]), len(people)),
            "birth_year": people["birth_year"].where(~people["is_business"]).astype("Int64"),
            "occupation": people["occupation"].where(~people["is_business"]),
            "phone_digits": people["phone_digits"],
            "id_number": people["id_number"],
            "institution": "bank",
        }
    )
    insurer = pd.DataFrame(
        {
            "account_id": insured["insurer_account_id"],
            "opened_at": period.timestamps(insured["policy_t"].to_numpy()),
            "customer_type": "individual",
            "region": insured["region"],
            "channel": rng.choice(np.array(["agent", "app", "bancassurance"]), len(insured)),
            "birth_year": insured["birth_year"].astype("Int64"),
            "occupation": None,
            "phone_digits": insured["phone_digits"],
            "id_number": insured["id_number"],
            "institution": "insurer",
        }
    )
    accounts = pd.concat([bank, insurer], ignore_index=True)
    accounts.insert(7, "phone", pii.format_phones(rng, accounts.pop("phone_digits")))
    return accounts


def make_intermediaries(rng: np.random.Generator, n_accounts: int, cfg: PopulationConfig, period):
    n = max(40, round(n_accounts * cfg.intermediaries_per_1000_accounts / 1000))
    return pd.DataFrame(
        {
            "intermediary_id": ids("I", np.arange(n)),
            "kind": rng.choice(INTERMEDIARY_KINDS, n, p=INTERMEDIARY_KIND_WEIGHTS),
            "registered_at": period.timestamps(-(rng.random(n) * 8 * 365 * DAY).astype(np.int64)),
            "licensed": rng.random(n) < 0.8,
            "region": REGIONS[rng.integers(0, len(REGIONS), n)],
            "phone_digits": pii.mobile_numbers(rng, n).to_numpy(),
            "size": rng.lognormal(0.0, 1.0, n),
            # Half were in business before the data starts; the others open during it.
            "opens_t": np.where(rng.random(n) < 0.5, 0, rng.integers(0, period.seconds, n)),
        }
    )


def banking_intermediaries(
    rng: np.random.Generator, people: pd.DataFrame, intermediaries: pd.DataFrame
) -> pd.DataFrame:
    """Half of the intermediaries bank here themselves: one to three of their own or their
    family's accounts carry the intermediary's phone, an honest link from phone to account."""
    owners = np.flatnonzero(rng.random(len(intermediaries)) < 0.5)
    accounts = np.repeat(owners, rng.integers(1, 4, len(owners)))
    individuals = np.flatnonzero(~people["is_business"].to_numpy())
    chosen = rng.choice(individuals, min(len(accounts), len(individuals)), replace=False)
    phones = people["phone_digits"].to_numpy().copy()
    phones[chosen] = intermediaries["phone_digits"].to_numpy()[accounts[: len(chosen)]]
    return people.assign(phone_digits=phones)


def intermediaries_table(rng: np.random.Generator, intermediaries: pd.DataFrame) -> pd.DataFrame:
    return intermediaries.assign(
        phone=pii.format_phones(rng, pd.Series(intermediaries["phone_digits"]))
    ).drop(columns=["phone_digits", "size", "opens_t"])


def active_window(people: pd.DataFrame, period: Period) -> tuple[np.ndarray, np.ndarray]:
    lo = np.maximum(people["opened_t"].to_numpy(), 0)
    return lo, np.full(len(people), period.seconds, dtype=np.int64)


def everyday_transactions(
    rng: np.random.Generator,
    cfg: PopulationConfig,
    period: Period,
    people: pd.DataFrame,
    all_accounts: np.ndarray,
) -> pd.DataFrame:
    """Card spending and transfers to other customers (any of ``all_accounts``), with a
    year-end peak, for the customers in ``people`` (one block of the population)."""
    lo, hi = active_window(people, period)
    counts = rng.poisson(cfg.txns_per_account_month * people["activity"] * (hi - lo) / MONTH)
    owner = np.repeat(np.arange(len(people)), counts)
    t = event_times(rng, lo[owner], hi[owner], night_share=0.03)
    festive = rng.random(len(t)) < cfg.year_end_spending_share
    year_end = (period.start + pd.offsets.YearEnd(0) - period.start).total_seconds()
    peak = (year_end - rng.random(len(t)) * 20 * DAY).astype(np.int64)
    t = np.where(festive & (peak > lo[owner]) & (peak < hi[owner]), peak, t)
    account_ids = people["account_id"].to_numpy()
    to_customer = rng.random(len(t)) < 0.12
    counterpart = np.where(
        to_customer,
        all_accounts[rng.integers(0, len(all_accounts), len(t))],
        ids("X", rng.integers(0, 20_000, len(t))),
    )
    incoming = rng.random(len(t)) < 0.3
    own = account_ids[owner]
    app = rng.random(len(t)) < 0.7
    spending = transfers(
        np.where(incoming, counterpart, own),
        np.where(incoming, own, counterpart),
        t,
        rng.lognormal(5.0, 1.1, len(t)),
        device=np.where(app & ~incoming, people["device_id"].to_numpy()[owner], NO_ID),
    )
    spending["channel"] = np.where(
        app, "app", rng.choice(np.array(["pos", "atm", "branch"]), len(t))
    )
    return spending


def device_events(
    rng: np.random.Generator, cfg: PopulationConfig, period: Period, people: pd.DataFrame
) -> pd.DataFrame:
    """Logins from the customer's own device, and now and then from a shop or kiosk
    terminal that many other customers use too."""
    lo, hi = active_window(people, period)
    counts = rng.poisson(cfg.logins_per_account_month * (hi - lo) / MONTH)
    owner = np.repeat(np.arange(len(people)), counts)
    device = people["device_id"].to_numpy()[owner].copy()
    extra = people["extra_devices"].to_numpy()[owner]
    on_extra = np.flatnonzero((extra > 0) & (rng.random(len(owner)) < 0.4))
    which = rng.integers(1, extra[on_extra] + 1)
    device[on_extra] = ids("DX", people.index.to_numpy()[owner[on_extra]] * 5 + which)
    terminal = people["terminal"].to_numpy()
    on_terminal = (terminal[owner] != NO_ID) & (rng.random(len(owner)) < 0.3)
    away = rng.random(len(owner)) < 0.2
    return pd.DataFrame(
        {
            "account_id": people["account_id"].to_numpy()[owner],
            "t": event_times(rng, lo[owner], hi[owner], night_share=0.05),
            "device_id": np.where(on_terminal, terminal[owner], device),
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
            "disbursed_t": np.where(approved, disbursed_t, NEVER),
            "defaulted_t": np.where(defaulted, disbursed_t + rng.integers(45, 240, n) * DAY, NEVER),
            "device_id": people["device_id"].to_numpy()[applicants],
        }
    )


def honest_loans(
    rng: np.random.Generator,
    cfg: PopulationConfig,
    period: Period,
    people: pd.DataFrame,
    brokers: pd.DataFrame,
) -> pd.DataFrame:
    """Ordinary loans; some come through licensed brokers, the big ones getting the most.

    A fifth of the brokers serve wealthy clients, whose high stated incomes are real; a
    nearly half help clients apply on an office tablet, so their clients share a device.
    """
    individuals = np.flatnonzero(~people["is_business"].to_numpy())
    applicants = individuals[rng.random(len(individuals)) < cfg.loan_applicant_share]
    lo, hi = active_window(people.iloc[applicants], period)
    loans = loan_applications(
        rng,
        people=people,
        applicants=applicants,
        applied_t=event_times(rng, lo, hi, night_share=0.02),
        income_inflation=rng.lognormal(0.05, 0.15, len(applicants)),
        approval_rate=0.75,
        default_rate=cfg.default_rate,
    )
    weights = brokers["size"].to_numpy()
    premium = rng.random(len(brokers)) < 0.2
    income = loans["stated_income"].to_numpy()
    wealthy = (income > np.quantile(income, 0.7)) & (rng.random(len(loans)) < 0.7)
    broker = np.where(
        wealthy & premium.any(),
        rng.choice(len(brokers), len(loans), p=_normalized(weights * premium)),
        rng.choice(len(brokers), len(loans), p=_normalized(weights * ~premium)),
    )
    # Each broker runs one three-month campaign; outside it, it refers far fewer clients.
    applied_t = loans["applied_t"].to_numpy()
    campaign_start = rng.integers(-MONTH, period.seconds, len(brokers))[broker]
    in_campaign = (applied_t >= campaign_start) & (applied_t < campaign_start + 3 * MONTH)
    referred = (
        rng.random(len(loans)) < cfg.broker_referral_share * np.where(in_campaign, 1.0, 0.3)
    ) & (applied_t >= brokers["opens_t"].to_numpy()[broker])
    broker_ids = brokers["intermediary_id"].to_numpy()[broker]
    has_office_tablet = rng.random(len(brokers)) < 0.45
    at_office = referred & has_office_tablet[broker] & (rng.random(len(loans)) < 0.5)
    return loans.assign(
        intermediary_id=np.where(referred, broker_ids, NO_ID),
        device_id=np.where(at_office, ids("DO", broker), loans["device_id"]),
    )


def _normalized(weights: np.ndarray) -> np.ndarray:
    total = weights.sum()
    return weights / total if total > 0 else np.full(len(weights), 1 / len(weights))
