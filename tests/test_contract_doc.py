from pipeline.contract_doc import render_markdown
from tests.conftest import REPO


def test_committed_contract_document_is_current():
    committed = (REPO / "docs" / "data_contract.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), (
        "run: python -m pipeline.contract_doc > docs/data_contract.md"
    )
