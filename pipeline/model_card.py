"""The model card of a registered version: what it is for, what it learned from, how it did
against the baselines, and why it was, or was not, allowed to score customers.

Built from the stage outputs as plain data; Markdown for people and diffs, HTML (with the
reliability plot embedded) for a browser or the MLflow UI.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from markdown_it import MarkdownIt

from pipeline.config import Entity
from pipeline.registry import Gate

PURPOSE = {
    "account": (
        "Ranks bank and insurer accounts by the chance that a case against them (mule or "
        "rented account, collector for an illegal loan intermediary or a surrender agent) is "
        "confirmed within the label horizon, so investigators work the riskiest first."
    ),
    "intermediary": (
        "Ranks loan brokers, insurance agents, debt advisors and collection agencies by the "
        "chance that a case against them (hidden fees, incited surrenders, debt-relief "
        "schemes, improper collection) is confirmed within the label horizon."
    ),
}
INTENDED_USE = (
    "An ordered queue for trained investigators, who decide. It is not a decision about a "
    "customer: no account may be closed, refused or reported on the score alone."
)
LIMITATIONS = (
    "Labels are incomplete and late: most bad actors are never confirmed, so precision "
    "against labels understates precision against the truth, and the best-scored entities "
    "are often unconfirmed rather than wrong.",
    "The gangs change their methods; performance on the test months is no promise for the "
    "next ones. Watch the drift report of every scoring run and retrain at least monthly.",
    "Recall is uneven across typologies (table above); typologies with few test cases have "
    "recall figures that move a lot with one case.",
    "Features only see what the institutions share: a family missing for lack of a table "
    "is missing from the model too.",
)


@dataclass(frozen=True)
class CardFacts:
    """Everything a card says, gathered by the promote stage."""

    name: str
    version: int
    entity: Entity
    alias: str
    run_id: str
    git_commit: str
    params_hash: str
    metrics: dict  # reports/<entity>/metrics.json
    gates: list[Gate]
    families: list[str]
    missing_families: list[str]
    splits: dict[str, str]  # snapshot date -> split
    top_features: list[tuple[str, float, str]]  # name, share of gain, description


def model_card_markdown(facts: CardFacts, *, reliability_image: str) -> str:
    sections = [
        f"# Model card: {facts.name} version {facts.version}",
        f"**Alias:** `{facts.alias}` · **training run:** `{facts.run_id}` · "
        f"**commit:** `{facts.git_commit}` · **params hash:** `{facts.params_hash}`",
        "## Purpose and intended use",
        PURPOSE[facts.entity],
        INTENDED_USE,
        "## Data",
        _data_window(facts),
        "## Performance on the test snapshots, against both baselines",
        _metrics_table(facts.metrics),
        "## Recall per typology at the alert budget (LightGBM)",
        _typology_table(facts.metrics["lightgbm"]),
        "## Calibration",
        f"ECE {facts.metrics['lightgbm']['ece']:.4f} after calibration "
        f"({facts.metrics['lightgbm']['ece_uncalibrated']:.4f} before); the model expects "
        f"{facts.metrics['lightgbm']['expected_positives']:.0f} cases in the test snapshots, "
        f"{facts.metrics['lightgbm']['positives']} were confirmed.",
        f"![reliability before and after calibration]({reliability_image})",
        "## Top features (share of LightGBM gain)",
        _features_table(facts.top_features),
        "## Promotion gates",
        _gates_table(facts.gates),
        "## Known limitations",
        "\n".join(f"- {item}" for item in LIMITATIONS),
    ]
    return "\n\n".join(sections) + "\n"


def model_card_html(markdown: str, *, title: str, images: dict[str, bytes]) -> str:
    """One self-contained page: the Markdown rendered, ``images`` (name -> PNG) inlined."""
    body = MarkdownIt("commonmark").enable("table").render(markdown)
    for name, png in images.items():
        inline = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        body = body.replace(f'src="{name}"', f'src="{inline}"')
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{CARD_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


CARD_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem}"
    "img{max-width:36rem}"
)


def _data_window(facts: CardFacts) -> str:
    by_split: dict[str, list[str]] = {}
    for snapshot, split in facts.splits.items():
        by_split.setdefault(split, []).append(snapshot)
    rows = "\n".join(f"| {split} | {', '.join(dates)} |" for split, dates in by_split.items())
    missing = ", ".join(facts.missing_families) or "none"
    return (
        "| split | snapshots |\n|---|---|\n" + rows + "\n\n"
        f"Feature families: {', '.join(facts.families)}. Missing for lack of data: {missing}."
    )


def _metrics_table(metrics: dict) -> str:
    header = (
        "| model | PR-AUC | ROC-AUC | precision at budget | recall at budget | Brier skill | ECE |"
    )
    rows = [
        f"| {model} | {m['pr_auc']:.3f} | {m['roc_auc']:.3f} | {m['precision_at_budget']:.3f} "
        f"| {m['recall_at_budget']:.3f} | {m['brier_skill']:.3f} | {m['ece']:.4f} |"
        for model, m in ((k, metrics[k]) for k in ("lightgbm", "rules", "logistic"))
    ]
    budget = f"Alert budget: {metrics['alert_budget']} per snapshot; base rate " + (
        f"{metrics['lightgbm']['base_rate']:.4f} ({metrics['lightgbm']['positives']} cases in "
        f"{metrics['lightgbm']['rows']:,} rows)."
    )
    return "\n".join([header, "|---|---|---|---|---|---|---|", *rows]) + "\n\n" + budget


def _typology_table(lightgbm: dict) -> str:
    rows = [f"| {t} | {r:.3f} |" for t, r in lightgbm["per_typology_recall"].items()]
    return "\n".join(["| typology | recall |", "|---|---|", *rows])


def _features_table(top: list[tuple[str, float, str]]) -> str:
    rows = [f"| `{name}` | {share:.1%} | {text} |" for name, share, text in top]
    return "\n".join(["| feature | gain | meaning |", "|---|---|---|", *rows])


def _gates_table(gates: list[Gate]) -> str:
    rows = [
        f"| {g.name} | {g.value:.4f} | {g.comparison} {g.threshold:.4f} | "
        f"{'pass' if g.passed else 'FAIL'} |"
        for g in gates
    ]
    return "\n".join(["| gate | value | threshold | verdict |", "|---|---|---|---|", *rows])
