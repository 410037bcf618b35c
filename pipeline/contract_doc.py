"""Render the data contract as Markdown for docs/data_contract.md.

``python -m pipeline.contract_doc > docs/data_contract.md`` regenerates the document.

A test checks that the committed document equals this rendering, so they cannot drift.
"""

from __future__ import annotations

from pipeline.contract import TABLES, Column

INTRO = """\
# Raw data contract (v1)

Generated from `pipeline/contract.py` by `python -m pipeline.contract_doc`; do not edit by hand.

Point `bgrisk validate --raw DIR --out DIR` at a directory holding one file per table:
`NAME.parquet`, `NAME.csv` (UTF-8, with or without BOM) or a directory `NAME/` of such files.
Tables marked *required* must be present; an absent optional table only switches off the
feature families that need it (they are listed in `data/features/manifest.json`).

Rules that apply everywhere:
- Timestamps are UTC (values with a time zone are converted). Every fact carries the time it
  became true (`defaulted_at`, not a loan status), so past snapshots never see the future.
- Columns marked PII are normalized and replaced by keyed HMAC-SHA256 pseudonyms during
  validation, with the key from `BGRISK_PSEUDONYM_KEY`; raw values never reach clean data,
  features, MLflow or scores. Institutions that share the key can join on the pseudonyms.
- Transaction parties that are neither accounts nor intermediaries are allowed (outside
  parties) and counted in the validation report.
- Unknown extra columns are dropped with a warning.
- Every problem is reported at once, with table, column, rule, row count and up to five
  example keys; nothing is written to `--out` until the data passes.
"""


# One or two rows per table, shown in the document; a test validates them as an export.
EXAMPLES: dict[str, list[dict[str, object]]] = {
    "accounts": [
        {"account_id": "A0001", "opened_at": "2024-03-02T09:15:00Z", "customer_type": "individual",
         "region": "guangdong", "channel": "app", "birth_year": 1988, "occupation": "office",
         "phone": "+86 138 1234 5678", "id_number": "44010019880102123X", "institution": "bank"},
        {"account_id": "N0001", "opened_at": "2021-06-30T00:00:00Z", "customer_type": "individual",
         "phone": "138-1234-5678", "id_number": "44010019880102123X", "institution": "insurer"},
    ],
    "intermediaries": [
        {"intermediary_id": "I001", "kind": "loan_broker", "registered_at": "2019-05-01T00:00:00Z",
         "licensed": True, "region": "guangdong", "phone": "13900001111"},
    ],
    "transactions": [
        {"txn_id": "T0001", "ts": "2025-03-01T10:02:11Z", "src_id": "A0001", "dst_id": "X0042",
         "amount": 268.5, "channel": "app", "device_id": "D77"},
    ],
    "device_events": [
        {"account_id": "A0001", "ts": "2025-03-01T10:01:58Z", "device_id": "D77",
         "ip": "114.23.8.19"},
    ],
    "loans": [
        {"loan_id": "L0001", "account_id": "A0001", "intermediary_id": "I001",
         "applied_at": "2025-02-10T08:00:00Z", "amount": 30000.0, "stated_income": 12000.0,
         "approved": True, "disbursed_at": "2025-02-12T08:00:00Z", "defaulted_at": None,
         "repaid_at": None, "device_id": "D77"},
    ],
    "policies": [
        {"policy_id": "P0001", "account_id": "N0001", "intermediary_id": None,
         "issued_at": "2021-06-30T00:00:00Z", "premium": 6000.0,
         "surrendered_at": "2025-04-02T00:00:00Z", "refund_amount": 24000.0},
    ],
    "complaints": [
        {"complaint_id": "C0001", "account_id": "N0001", "ts": "2025-03-20T03:00:00Z",
         "category": "sales_misleading", "target_id": None, "contact_phone": "13900001111",
         "text": "业务员误导销售，要求全额退保"},
    ],
    "collection_events": [
        {"event_id": "E0001", "account_id": "A0001", "agency_id": "I001",
         "ts": "2025-05-03T22:40:00Z", "method": "call", "contacted_third_party": False},
    ],
    "labels": [
        {"entity_type": "intermediary", "entity_id": "I001", "confirmed_at": "2025-06-01T00:00:00Z",
         "typology": "illegal_loan_intermediary", "source": "police"},
    ],
}  # fmt: skip


def _example(table: str) -> str:
    rows = EXAMPLES[table]
    columns = [c.name for c in TABLES[table].columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join("" if row.get(c) is None else str(row[c]) for c in columns) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def _rules(column: Column) -> str:
    rules = []
    if not column.nullable:
        rules.append("not empty")
    if column.allowed:
        rules.append("one of " + ", ".join(f"`{v}`" for v in column.allowed))
    if column.positive:
        rules.append("finite, > 0")
    if column.references:
        rules.append("refers to " + " or ".join(f"`{t}`" for t in column.references))
    if column.kind == "timestamp":
        rules.append("between 1990 and today")
    if column.not_before:
        rules.append(f"not before `{column.not_before}`")
    return "; ".join(rules)


def render_markdown() -> str:
    parts = [INTRO]
    for table in TABLES.values():
        status = "required" if table.required else "optional"
        key = f", key `{table.key}`" if table.key else ""
        parts.append(f"\n## `{table.name}` ({status}{key})\n")
        parts.append("| column | type | present | PII | rules |\n|---|---|---|---|---|")
        for column in table.columns:
            present = "optional" if column.optional else "required"
            pii = "yes" if column.pii else ""
            parts.append(
                f"| `{column.name}` | {column.kind} | {present} | {pii} | {_rules(column)} |"
            )
        parts.append(f"\nExample:\n\n{_example(table.name)}")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
