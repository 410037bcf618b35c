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
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
