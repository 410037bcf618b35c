from pipeline.contract_doc import render_markdown
from tests.conftest import REPO


def test_committed_contract_document_is_current():
    committed = (REPO / "docs" / "data_contract.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), (
        "run: python -m pipeline.contract_doc > docs/data_contract.md"
    )


def test_documented_examples_are_a_valid_export():
    import pandas as pd

    from pipeline.contract_doc import EXAMPLES
    from pipeline.validate import validate_tables
    from tests.conftest import NOW

    raw = {name: pd.DataFrame(rows) for name, rows in EXAMPLES.items()}
    clean, report = validate_tables(raw, now=NOW)
    assert report.problems == []
    assert set(clean) == set(EXAMPLES)
