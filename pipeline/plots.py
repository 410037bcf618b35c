"""The evaluation's figures, built from frames and arrays; the stage saves them.

Figures are made with ``matplotlib.figure.Figure`` directly (no pyplot state, no backend
set at import), so they work in a batch job and in tests alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

MODEL_COLOURS = {"lightgbm": "#1f5fa8", "rules": "#c0392b", "logistic": "#7f8c8d"}


def curves_figure(
    curves: dict[str, pd.DataFrame], *, x: str, y: str, title: str, chance: pd.DataFrame
) -> Figure:
    """One line per model (``curves``: model -> points), with what chance would give."""
    figure = Figure(figsize=(5.5, 4.5), layout="constrained")
    axes = figure.subplots()
    for model, points in curves.items():
        axes.plot(points[x], points[y], label=model, color=MODEL_COLOURS.get(model))
    axes.plot(chance[x], chance[y], linestyle=":", color="black", label="chance")
    axes.set(xlabel=x.replace("_", " "), ylabel=y.replace("_", " "), title=title)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend()
    return figure


def reliability_figure(before: pd.DataFrame, after: pd.DataFrame, *, title: str) -> Figure:
    """Observed rate against mean score per equal-mass bin, before and after calibration.

    Log axes: risk scores live between a tenth of a percent and a few tens of percent.
    """
    figure = Figure(figsize=(5.5, 4.5), layout="constrained")
    axes = figure.subplots()
    low = 1.0
    for label, points, marker in (("uncalibrated", before, "o"), ("calibrated", after, "s")):
        shown = points[(points["mean_score"] > 0) & (points["observed_rate"] > 0)]
        axes.plot(shown["mean_score"], shown["observed_rate"], marker=marker, label=label)
        low = min(low, *shown["mean_score"], *shown["observed_rate"])
    axes.plot([low, 1], [low, 1], linestyle=":", color="black", label="perfect")
    axes.set(xscale="log", yscale="log", xlabel="mean score", ylabel="observed rate")
    axes.set_title(title)
    axes.legend()
    return figure


def score_distribution_figure(score: np.ndarray, label: np.ndarray, *, title: str) -> Figure:
    """Densities of the calibrated score for confirmed cases and for the rest."""
    figure = Figure(figsize=(5.5, 4.0), layout="constrained")
    axes = figure.subplots()
    floor = max(score[score > 0].min(initial=1.0), 1e-6)
    edges = np.geomspace(floor, 1.0, 40)
    for name, mask in (("not confirmed", label == 0), ("confirmed case", label == 1)):
        axes.hist(
            np.clip(score[mask], floor, 1.0), bins=edges, density=True, alpha=0.55, label=name
        )
    axes.set(xscale="log", xlabel="calibrated score", ylabel="density", title=title)
    axes.legend()
    return figure


def importance_figure(importance: pd.Series, *, title: str, top: int = 20) -> Figure:
    """Horizontal bars of the largest values of ``importance`` (feature -> total gain)."""
    shown = importance.sort_values().tail(top)
    figure = Figure(figsize=(6.5, 0.28 * len(shown) + 1.2), layout="constrained")
    axes = figure.subplots()
    axes.barh(shown.index, shown.to_numpy(), color=MODEL_COLOURS["lightgbm"])
    axes.set(xlabel="total gain", title=title)
    return figure


def shap_summary_figure(
    contributions: np.ndarray, values: pd.DataFrame, *, title: str, top: int = 15
) -> Figure:
    """SHAP summary: per feature, each row's contribution, coloured by the feature's value.

    ``contributions`` are LightGBM's ``pred_contrib`` columns for ``values``' features
    (bias column dropped); colour is the value's rank within its feature, so amounts and
    shares share one scale.
    """
    order = np.argsort(np.abs(contributions).mean(axis=0))[-top:]
    figure = Figure(figsize=(7.0, 0.35 * len(order) + 1.4), layout="constrained")
    axes = figure.subplots()
    jitter = np.random.default_rng(0).uniform(-0.3, 0.3, len(values))
    for position, column in enumerate(order):
        colour = values.iloc[:, column].rank(pct=True).fillna(0.5).to_numpy()
        points = axes.scatter(
            contributions[:, column],
            position + jitter,
            c=colour,
            cmap="coolwarm",
            vmin=0,
            vmax=1,
            s=4,
            alpha=0.6,
            rasterized=True,
        )
    axes.axvline(0, color="black", linewidth=0.6)
    axes.set_yticks(range(len(order)), values.columns[order])
    axes.set(xlabel="contribution to log-odds (SHAP)", title=title)
    figure.colorbar(points, ax=axes, label="feature value (rank)", ticks=[0, 1])
    return figure
