"""The raw data contract (v1): the one source of truth for tables, columns and rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "text", "timestamp", "number", "integer", "boolean"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    nullable: bool = False
    optional: bool = False  # the column may be absent from an export
    pii: bool = False
    allowed: tuple[str, ...] | None = None
    positive: bool = False
    references: tuple[str, ...] = ()  # tables whose key this column must match
    not_before: str | None = None  # a timestamp column of the same row this one cannot precede


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    required: bool = False
    key: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _opt(name: str, kind: Kind, **rules) -> Column:
    """An optional, nullable column (``?`` in the contract)."""
    return Column(name, kind, nullable=True, optional=True, **rules)


ENTITY_TABLES = ("accounts", "intermediaries")
INTERMEDIARY_KINDS = (
    "loan_broker",
    "insurance_agent",
    "collection_agency",
    "debt_advisor",
    "merchant",
    "other",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            required=True,
            key="account_id",
            columns=(
                Column("account_id", "id"),
                _opt("opened_at", "timestamp"),
                Column("customer_type", "text", allowed=("individual", "business")),
                _opt("region", "text"),
                _opt("channel", "text"),
                _opt("birth_year", "integer"),
                _opt("occupation", "text"),
                _opt("phone", "text", pii=True),
                _opt("id_number", "text", pii=True),
                _opt("institution", "text"),
            ),
        ),
        Table(
            "intermediaries",
            key="intermediary_id",
            columns=(
                Column("intermediary_id", "id"),
                Column("kind", "text", allowed=INTERMEDIARY_KINDS),
                _opt("registered_at", "timestamp"),
                _opt("licensed", "boolean"),
                _opt("region", "text"),
                _opt("phone", "text", pii=True),
            ),
        ),
        Table(
            "transactions",
            required=True,
            key="txn_id",
            columns=(
                Column("txn_id", "id"),
                Column("ts", "timestamp"),
                Column("src_id", "id"),
                Column("dst_id", "id"),
                Column("amount", "number", positive=True),
                _opt("channel", "text"),
                _opt("device_id", "id"),
            ),
        ),
        Table(
            "device_events",
            columns=(
                Column("account_id", "id", references=("accounts",)),
                Column("ts", "timestamp"),
                Column("device_id", "id"),
                _opt("ip", "text", pii=True),
            ),
        ),
        Table(
            "loans",
            key="loan_id",
            columns=(
                Column("loan_id", "id"),
                Column("account_id", "id", references=("accounts",)),
                _opt("intermediary_id", "id", references=("intermediaries",)),
                Column("applied_at", "timestamp"),
                Column("amount", "number", positive=True),
                _opt("stated_income", "number"),
                _opt("approved", "boolean"),
                _opt("disbursed_at", "timestamp", not_before="applied_at"),
                _opt("defaulted_at", "timestamp", not_before="disbursed_at"),
                _opt("repaid_at", "timestamp", not_before="disbursed_at"),
                _opt("device_id", "id"),
            ),
        ),
        Table(
            "policies",
            key="policy_id",
            columns=(
                Column("policy_id", "id"),
                Column("account_id", "id", references=("accounts",)),
                _opt("intermediary_id", "id", references=("intermediaries",)),
                Column("issued_at", "timestamp"),
                Column("premium", "number", positive=True),
                _opt("surrendered_at", "timestamp", not_before="issued_at"),
                _opt("refund_amount", "number"),
            ),
        ),
        Table(
            "complaints",
            key="complaint_id",
            columns=(
                Column("complaint_id", "id"),
                Column("account_id", "id", references=("accounts",)),
                Column("ts", "timestamp"),
                Column("category", "text"),
                _opt("target_id", "id"),
                _opt("contact_phone", "text", pii=True),
                _opt("text", "text"),
            ),
        ),
        Table(
            "collection_events",
            key="event_id",
            columns=(
                Column("event_id", "id"),
                Column("account_id", "id", references=("accounts",)),
                Column("agency_id", "id", references=("intermediaries",)),
                Column("ts", "timestamp"),
                Column("method", "text", allowed=("call", "sms", "visit")),
                _opt("contacted_third_party", "boolean"),
            ),
        ),
        Table(
            "labels",
            required=True,
            columns=(
                Column("entity_type", "text", allowed=("account", "intermediary")),
                Column("entity_id", "id", references=ENTITY_TABLES),
                Column("confirmed_at", "timestamp"),
                _opt("typology", "text"),
                _opt("source", "text"),
            ),
        ),
    )
}
