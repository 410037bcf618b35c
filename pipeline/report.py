"""The one-page HTML report of a scoring run: score distribution, top of the queue, top
rings and the drift table. Self-contained (the plot is inlined), so it opens from a file."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

QUEUE_ROWS = {"account": 25, "intermediary": 10}
RING_ROWS = 10
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:80rem;padding:0 1rem}"
    "table{border-collapse:collapse;font-size:.85rem;margin-bottom:1.5rem}"
    "td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}"
    ".alert{background:#f8d7da}.warn{background:#fff3cd}"
)


def scoring_report(
    *,
    as_of: str,
    models: dict[str, str],
    queues: dict[str, pd.DataFrame],
    rings: pd.DataFrame,
    drift: pd.DataFrame,
) -> str:
    """``queues``: entity type -> ranked scores; ``drift``: entity, feature, psi, status."""
    sections = [
        f"<h1>bgrisk scores as of {html.escape(as_of)}</h1>",
        "<p>"
        + "; ".join(f"{html.escape(e)}: {html.escape(m)}" for e, m in models.items())
        + "</p>",
        "<h2>Score distribution</h2>",
        f'<img alt="score distribution" src="{_distribution_png(queues)}">',
    ]
    for entity, queue in queues.items():
        sections += [
            f"<h2 id='queue-{entity}'>Top of the {entity} queue</h2>",
            _queue_table(queue.head(QUEUE_ROWS[entity])),
        ]
    sections += [
        "<h2 id='rings'>Top rings</h2>",
        _table(_ring_rows(rings.head(RING_ROWS))),
        "<h2 id='drift'>Drift against the training reference (PSI)</h2>",
        "<p>warn at 0.10, alert at 0.25</p>",
        _drift_table(drift),
    ]
    body = "\n".join(sections)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>bgrisk scores {html.escape(as_of)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _distribution_png(queues: dict[str, pd.DataFrame]) -> str:
    figure = Figure(figsize=(7, 3), layout="constrained")
    for axes, (entity, queue) in zip(figure.subplots(1, len(queues)), queues.items(), strict=True):
        score = np.clip(queue["score"].to_numpy(), 1e-5, 1)
        axes.hist(score, bins=np.geomspace(1e-5, 1, 40))
        axes.set(xscale="log", yscale="log", title=entity, xlabel="calibrated score")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _queue_table(queue: pd.DataFrame) -> str:
    shown = queue[["rank", "entity_id", "score", "risk_band", "ring_id"]].copy()
    shown["why"] = [
        "; ".join(
            f"{row[f'reason_{i}_text']} ({row[f'reason_{i}_value']:.3g})"
            for i in (1, 2, 3)
            if isinstance(row.get(f"reason_{i}_text"), str)
        )
        for row in queue.to_dict("records")
    ]
    return _table(shown.assign(score=shown["score"].map("{:.3f}".format)))


def _ring_rows(rings: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ring": rings["ring_id"],
            "members": rings["size"],
            "intermediaries": rings["intermediaries"].map(len),
            "max score": rings["max_score"].map("{:.3f}".format),
            "typology": rings["typology"].fillna(""),
            "shared devices": rings["shared_devices"].map(len),
            "shared phones": rings["shared_phones"].map(len),
            "money moved (30 d)": rings["money_moved_within_30d"].map("{:,.0f}".format),
        }
    )


def _drift_table(drift: pd.DataFrame) -> str:
    rows = "".join(
        f"<tr class='{r.status}'><td>{html.escape(r.entity)}</td><td>{html.escape(r.feature)}</td>"
        f"<td>{r.psi:.3f}</td><td>{r.status}</td></tr>"
        for r in drift.itertuples()
    )
    return (
        "<table id='drift-table'><tr><th>entity</th><th>feature</th><th>PSI</th>"
        f"<th>status</th></tr>{rows}</table>"
    )


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, border=0)
