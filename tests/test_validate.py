"""The data contract at the door: every malformed export is refused whole, with its reason."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import run as bgrisk
from pipeline.validate import Report, read_batches, table_sources, validate_tables
from tests.conftest import NOW, account_rows, transaction_rows, utc, write_tables


def minimal_raw() -> dict[str, pd.DataFrame]:
    """The smallest valid export: two accounts, a broker, a loan, a transfer, a label."""
    return {
        "accounts": account_rows("A1", "A2"),
        "intermediaries": pd.DataFrame(
            {"intermediary_id": ["I1"], "kind": ["loan_broker"], "licensed": [True]}
        ),
        "transactions": transaction_rows(("2025-01-02", "A1", "A2", 10.0)),
        "loans": pd.DataFrame(
            {
                "loan_id": ["L1"],
                "account_id": ["A1"],
                "intermediary_id": ["I1"],
                "applied_at": [utc("2025-01-05")],
                "amount": [5000.0],
                "approved": [True],
                "disbursed_at": [utc("2025-01-08")],
            }
        ),
        "device_events": pd.DataFrame(
            {"account_id": ["A1"], "ts": [utc("2025-01-03")], "device_id": ["D1"]}
        ),
        "collection_events": pd.DataFrame(
            {
                "event_id": ["E1"],
                "account_id": ["A2"],
                "agency_id": ["I1"],
                "ts": [utc("2025-02-01")],
                "method": ["call"],
            }
        ),
        "labels": pd.DataFrame(
            {"entity_type": ["account"], "entity_id": ["A1"], "confirmed_at": [utc("2025-02-01")]}
        ),
    }


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch):
    monkeypatch.setenv("BGRISK_PSEUDONYM_KEY", "test-key")


def invoke(*args: str, monkeypatch, capsys) -> tuple[int, str]:
    """Run the real console entry point in-process; return exit code and stderr."""
    monkeypatch.setattr(sys, "argv", ["bgrisk", *args])
    with pytest.raises(SystemExit) as exited:
        bgrisk()
    return exited.value.code, capsys.readouterr().err


def set_cell(table: str, column: str, value) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        raw[table][column] = raw[table].get(column, pd.Series([None] * len(raw[table])))
        raw[table][column] = raw[table][column].astype(object)
        raw[table].loc[0, column] = value

    return change


def drop(table: str, column: str | None = None) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        if column is None:
            del raw[table]
        else:
            del raw[table][column]

    return change


def append_copy(table: str) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        raw[table] = pd.concat([raw[table], raw[table]], ignore_index=True)

    return change


def empty(table: str) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        raw[table] = raw[table].iloc[0:0]

    return change


MALFORMED = {
    "missing required table": (drop("transactions"), "transactions.*: required table missing"),
    "missing column": (drop("accounts", "customer_type"), "accounts.customer_type: required column missing"),
    "wrong type": (set_cell("transactions", "amount", "ten"), "transactions.amount: not a valid number"),
    "unparseable timestamp": (set_cell("transactions", "ts", "yesterday"), "transactions.ts: not a valid timestamp"),
    "negative amount": (set_cell("transactions", "amount", -5.0), "transactions.amount: must be a finite number > 0"),
    "zero amount": (set_cell("loans", "amount", 0.0), "loans.amount: must be a finite number > 0"),
    "NaN amount": (set_cell("transactions", "amount", np.nan), "transactions.amount: must not be empty"),
    "infinite amount": (set_cell("transactions", "amount", np.inf), "transactions.amount: must be a finite number > 0"),
    "duplicate key": (append_copy("accounts"), "accounts.account_id: duplicate key"),
    "dangling reference": (set_cell("loans", "account_id", "A9"), "loans.account_id: unknown reference to accounts"),
    "dangling intermediary": (set_cell("loans", "intermediary_id", "I9"), "loans.intermediary_id: unknown reference to intermediaries"),
    "unknown enum value": (set_cell("accounts", "customer_type", "company"), "accounts.customer_type: must be one of individual, business"),
    "unknown intermediary kind": (set_cell("intermediaries", "kind", "pawnshop"), "intermediaries.kind: must be one of"),
    "unknown collection method": (set_cell("collection_events", "method", "email"), "collection_events.method: must be one of call, sms, visit"),
    "empty required table": (empty("labels"), "labels.*: required table is empty"),
    "label for unknown entity": (set_cell("labels", "entity_id", "A404"), "labels.entity_id: unknown entity for its entity_type"),
    "label of the wrong entity type": (set_cell("labels", "entity_type", "intermediary"), "labels.entity_id: unknown entity for its entity_type"),
    "unknown label type": (set_cell("labels", "entity_type", "customer"), "labels.entity_type: must be one of account, intermediary"),
    "timestamp before 1990": (set_cell("transactions", "ts", "1970-01-01"), "transactions.ts: timestamp outside 1990 to today"),
    "timestamp in the future": (set_cell("device_events", "ts", "2099-01-01"), "device_events.ts: timestamp outside 1990 to today"),
    "default before disbursement": (set_cell("loans", "defaulted_at", "2025-01-06"), "loans.defaulted_at: earlier than disbursed_at"),
    "duplicate row": (append_copy("device_events"), "device_events.*: duplicate row"),
    "invalid boolean": (set_cell("loans", "approved", "maybe"), "loans.approved: not a valid boolean"),
    "empty id": (set_cell("transactions", "src_id", None), "transactions.src_id: must not be empty"),
    "invalid integer": (set_cell("accounts", "birth_year", "nineteen"), "accounts.birth_year: not a valid integer"),
}  # fmt: skip


def write_raw(directory: Path, raw: dict[str, pd.DataFrame], csv: set[str] = frozenset()) -> Path:
    """Parquet for most tables, CSV (text, as exported) for those named in ``csv``."""
    write_tables(directory, {k: v for k, v in raw.items() if k not in csv})
    for name in csv:
        raw[name].astype(str).replace({"None": "", "nan": "", "NaT": ""}).to_csv(
            directory / f"{name}.csv", index=False
        )
    return directory


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_export_is_refused_whole(case, tmp_path, monkeypatch, capsys):
    change, expected = MALFORMED[case]
    raw = minimal_raw()
    change(raw)
    # Text columns that tests corrupt travel as CSV, the way such errors usually arrive.
    write_raw(tmp_path / "raw", raw, csv={"accounts", "transactions"} & set(raw))
    code, message = invoke(
        "validate", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "clean"),
        monkeypatch=monkeypatch, capsys=capsys,
    )  # fmt: skip
    assert code == 2
    assert expected in message
    assert "Traceback" not in message
    assert not (tmp_path / "clean").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_ragged_csv_row_is_reported(tmp_path, monkeypatch, capsys):
    write_raw(tmp_path / "raw", minimal_raw())
    (tmp_path / "raw" / "accounts.parquet").unlink()
    (tmp_path / "raw" / "accounts.csv").write_text(
        "account_id,customer_type\nA1,individual\nA2,business,extra,fields\n"
    )
    code, message = invoke(
        "validate", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "clean"),
        monkeypatch=monkeypatch, capsys=capsys,
    )  # fmt: skip
    assert code == 2 and "accounts.*: unreadable file" in message
    assert not (tmp_path / "clean").exists()


def test_corrupt_parquet_is_reported(tmp_path, monkeypatch, capsys):
    write_raw(tmp_path / "raw", minimal_raw())
    (tmp_path / "raw" / "loans.parquet").write_bytes(b"PAR1 this is not parquet")
    code, message = invoke(
        "validate", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "clean"),
        monkeypatch=monkeypatch, capsys=capsys,
    )  # fmt: skip
    assert code == 2 and "loans.*: unreadable file" in message


def test_all_problems_are_reported_together_with_examples():
    raw = minimal_raw()
    raw["accounts"] = pd.concat([raw["accounts"], account_rows("A1")], ignore_index=True)
    raw["transactions"]["amount"] = -1.0
    del raw["labels"]["confirmed_at"]
    _, report = validate_tables(raw, now=NOW)
    assert {(p.table, p.column, p.rule) for p in report.problems} == {
        ("accounts", "account_id", "duplicate key"),
        ("transactions", "amount", "must be a finite number > 0"),
        ("labels", "confirmed_at", "required column missing"),
    }
    duplicate = next(p for p in report.problems if p.rule == "duplicate key")
    assert duplicate.rows == 2 and duplicate.examples == ("A1", "A1")
    assert str(duplicate) == "accounts.account_id: duplicate key (2 rows; e.g. A1, A1)"


def test_valid_mixed_export_with_bom_chinese_text_and_time_zones_passes(tmp_path, monkeypatch):
    monkeypatch.setenv("BGRISK_PSEUDONYM_KEY", "test-key")
    raw = minimal_raw()
    write_raw(tmp_path / "raw", raw, csv={"transactions"})
    (tmp_path / "raw" / "complaints.csv").write_text(
        "complaint_id,account_id,ts,category,contact_phone,text\n"
        "C1,A1,2025-03-01T10:00:00+08:00,sales_misleading,+86 138 1234 5678,"
        '"业务员误导销售，要求全额退保, 联系电话13812345678"\n'
        "C2,A2,2025-03-02 09:00:00,service,138-1234-5678,网点服务态度差\n",
        encoding="utf-8-sig",
    )
    reading = Report()
    raw_tables = {
        name: pd.concat(read_batches(name, path, reading))
        for name, path in table_sources(tmp_path / "raw").items()
    }
    clean, report = validate_tables(raw_tables, now=NOW)
    assert reading.problems == [] and report.problems == []
    complaints = clean["complaints"]
    assert complaints["text"].iloc[0].startswith("业务员误导销售")
    assert complaints["ts"].iloc[0] == utc("2025-03-01 02:00")  # +08:00 converted to UTC
    assert report.outside_party_share == 0.0

    code = None
    monkeypatch.setattr(sys, "argv", ["bgrisk", "validate", "--raw", str(tmp_path / "raw"),
                                      "--out", str(tmp_path / "clean")])  # fmt: skip
    try:
        bgrisk()
    except SystemExit as exited:
        code = exited.code
    assert code is None
    phones = pd.read_parquet(tmp_path / "clean" / "complaints.parquet")["contact_phone"]
    assert phones.nunique() == 1 and "5678" not in phones.iloc[0]


def test_real_data_needs_the_key(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("BGRISK_PSEUDONYM_KEY", raising=False)
    write_raw(tmp_path / "raw", minimal_raw())
    code, message = invoke(
        "validate", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "clean"),
        monkeypatch=monkeypatch, capsys=capsys,
    )  # fmt: skip
    assert code == 2 and "BGRISK_PSEUDONYM_KEY is not set" in message and "export" in message
    assert not (tmp_path / "clean").exists()


def test_the_key_is_never_written(tmp_path, monkeypatch):
    key = "a-very-distinctive-secret-key-123"
    monkeypatch.setenv("BGRISK_PSEUDONYM_KEY", key)
    raw = minimal_raw()
    raw["accounts"]["phone"] = ["+86 138 1234 5678", "13912345678"]
    write_raw(tmp_path / "raw", raw)
    monkeypatch.setattr(sys, "argv", ["bgrisk", "validate", "--raw", str(tmp_path / "raw"),
                                      "--out", str(tmp_path / "clean")])  # fmt: skip
    bgrisk()
    for path in (tmp_path / "clean").rglob("*"):
        assert key.encode() not in path.read_bytes()


def test_checks_that_span_batches(tmp_path, monkeypatch, capsys):
    """Large tables are read in batches: duplicates and counts must still see the whole."""
    from pipeline import validate

    monkeypatch.setattr(validate, "BATCH_ROWS", 2)
    raw = minimal_raw()
    raw["transactions"] = transaction_rows(
        ("2025-01-02", "A1", "A2", 10.0),
        ("2025-01-03", "A1", "X9", -1.0),
        ("2025-01-04", "A2", "A1", 5.0),
        ("2025-01-05", "A2", "A1", -2.0),
        ("2025-01-06", "A2", "A1", 7.0),
    ).assign(txn_id=["T1", "T2", "T3", "T4", "T1"])
    write_raw(tmp_path / "raw", raw, csv={"transactions"})
    code, message = invoke(
        "validate", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "clean"),
        monkeypatch=monkeypatch, capsys=capsys,
    )  # fmt: skip
    assert code == 2
    assert "transactions.txn_id: duplicate key (2 rows; e.g. T1, T1)" in message
    assert "transactions.amount: must be a finite number > 0 (2 rows; e.g. T2, T4)" in message
    assert not (tmp_path / "clean").exists()

    raw["transactions"]["txn_id"] = ["T1", "T2", "T3", "T4", "T5"]
    raw["transactions"]["amount"] = 1.0
    write_raw(tmp_path / "raw", raw, csv={"transactions"})
    monkeypatch.setattr(sys, "argv", ["bgrisk", "validate", "--raw", str(tmp_path / "raw"),
                                      "--out", str(tmp_path / "clean")])  # fmt: skip
    bgrisk()
    clean = pd.read_parquet(tmp_path / "clean" / "transactions.parquet")
    assert clean["txn_id"].tolist() == ["T1", "T2", "T3", "T4", "T5"]
    report = json.loads((tmp_path / "clean" / "validation_report.json").read_text())
    assert report["row_counts"]["transactions"] == 5
    assert report["outside_party_share"] == pytest.approx(1 / 5)


def test_worker_processes_validate_as_this_process_does(tmp_path, monkeypatch):
    """Large exports spread their event tables over worker processes: same files, same
    report, and a problem found in a worker refuses the export all the same."""
    from pipeline.errors import InputError
    from pipeline.stages import validate as stage

    raw = minimal_raw()
    write_raw(tmp_path / "raw", raw)
    for where, threshold in (("here", 2**62), ("workers", 0)):
        monkeypatch.setattr(stage, "_PARALLEL_FROM_BYTES", threshold)
        stage.run(raw_dir=tmp_path / "raw", out=tmp_path / where)
    here, workers = tmp_path / "here", tmp_path / "workers"
    assert sorted(p.name for p in here.iterdir()) == sorted(p.name for p in workers.iterdir())
    for path in here.glob("*.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(path), pd.read_parquet(workers / path.name))
    report = json.loads((workers / "validation_report.json").read_text())
    assert report == json.loads((here / "validation_report.json").read_text())
    assert report["row_counts"]["transactions"] == 1

    raw["transactions"]["amount"] = -1.0
    write_raw(tmp_path / "raw", raw)
    with pytest.raises(InputError, match=r"transactions\.amount: must be a finite number > 0"):
        stage.run(raw_dir=tmp_path / "raw", out=tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
