import pandas as pd
import pytest

from pipeline.errors import InputError
from pipeline.stages import validate as stage
from pipeline.validate import read_raw, validate_tables
from tests.conftest import account_rows, transaction_rows, utc, write_tables


def minimal_raw() -> dict[str, pd.DataFrame]:
    return {
        "accounts": account_rows("A1", "A2"),
        "transactions": transaction_rows(("2025-01-02", "A1", "A2", 10.0)),
        "labels": pd.DataFrame(
            {"entity_type": ["account"], "entity_id": ["A1"], "confirmed_at": [utc("2025-02-01")]}
        ),
    }


def rules(report) -> set[tuple[str, str, str]]:
    return {(p.table, p.column, p.rule) for p in report.problems}


def test_minimal_raw_is_accepted_with_warnings():
    clean, report = validate_tables(minimal_raw())
    assert report.problems == []
    assert set(clean) == {"accounts", "transactions", "labels"}
    assert any("loans absent" in w for w in report.warnings)
    assert str(clean["transactions"]["ts"].dtype) == "datetime64[us, UTC]"


def test_all_problems_are_collected_in_one_pass():
    raw = minimal_raw()
    raw["accounts"] = pd.concat([raw["accounts"], account_rows("A1")], ignore_index=True)
    raw["accounts"].loc[1, "customer_type"] = "company"
    raw["transactions"] = transaction_rows(
        ("2025-01-02", "A1", "A2", -5.0), ("2025-01-03", "A1", "A2", 3.0)
    ).assign(ts=["2025-01-02", "not a date"])
    raw["labels"]["entity_id"] = ["A9"]
    del raw["labels"]["confirmed_at"]
    _, report = validate_tables(raw)
    assert rules(report) == {
        ("accounts", "account_id", "duplicate key"),
        ("accounts", "customer_type", "must be one of individual, business"),
        ("transactions", "amount", "must be a finite number > 0"),
        ("transactions", "ts", "not a valid timestamp"),
        ("transactions", "ts", "must not be empty"),
        ("labels", "confirmed_at", "required column missing"),
        ("labels", "entity_id", "unknown reference to accounts or intermediaries"),
    }
    duplicate = next(p for p in report.problems if p.rule == "duplicate key")
    assert duplicate.rows == 2 and duplicate.examples == ("A1", "A1")


def test_missing_required_table():
    raw = minimal_raw()
    del raw["transactions"]
    _, report = validate_tables(raw)
    assert ("transactions", "*", "required table missing") in rules(report)


def test_csv_with_bom_and_chinese_text(tmp_path):
    raw = minimal_raw()
    write_tables(tmp_path, {k: v for k, v in raw.items() if k != "accounts"})
    (tmp_path / "accounts.csv").write_text(
        '\ufeffaccount_id,customer_type,occupation\nA1,individual,"教师, 兼职"\nA2,business,\n',
        encoding="utf-8",
    )
    clean, report = validate_tables(read_raw(tmp_path))
    assert report.problems == []
    assert clean["accounts"]["occupation"].tolist()[0] == "教师, 兼职"


def test_stage_refuses_bad_data_and_writes_nothing(tmp_path):
    raw = minimal_raw()
    raw["transactions"]["amount"] = 0.0
    write_tables(tmp_path / "raw", raw)
    with pytest.raises(InputError) as err:
        stage.run(raw_dir=tmp_path / "raw", out=tmp_path / "clean")
    assert "transactions.amount: must be a finite number > 0 (1 rows; e.g. T0)" in str(err.value)
    assert not (tmp_path / "clean").exists()


def test_real_data_needs_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("BGRISK_PSEUDONYM_KEY", raising=False)
    write_tables(tmp_path / "raw", minimal_raw())
    with pytest.raises(InputError, match="BGRISK_PSEUDONYM_KEY is not set"):
        stage.run(raw_dir=tmp_path / "raw", out=tmp_path / "clean")
    assert not (tmp_path / "clean").exists()


def test_pii_is_pseudonymized_in_clean_output(tmp_path, monkeypatch):
    monkeypatch.setenv("BGRISK_PSEUDONYM_KEY", "k")
    raw = minimal_raw()
    raw["accounts"]["phone"] = ["+86 138 1234 5678", "138-1234-5678"]
    write_tables(tmp_path / "raw", raw)
    stage.run(raw_dir=tmp_path / "raw", out=tmp_path / "clean")
    phones = pd.read_parquet(tmp_path / "clean" / "accounts.parquet")["phone"]
    assert phones.nunique() == 1 and "1234" not in phones.iloc[0]
    assert (tmp_path / "clean" / "validation_report.json").exists()
