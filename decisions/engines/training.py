"""Fit and measure the hazard model: calibrated probabilities, honest metrics."""

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

CALIBRATION_FOLDS = 3
DECILES = 10


def hazard_fit(*, rows, labels, weights=None, seed: int = 0):
    """Fit a logistic regression, calibrated by Platt scaling.

    Interruptions are rare, so isotonic calibration would overfit the few
    positives; the sigmoid needs two parameters per fold. The regression is
    not wrapped in a scaling pipeline because a pipeline drops the sample
    weights that carry the labels' counts.
    """
    base = LogisticRegression(C=1.0, max_iter=2000)
    model = CalibratedClassifierCV(
        base, method="sigmoid", cv=CALIBRATION_FOLDS
    )
    model.fit(np.asarray(rows, float), np.asarray(labels, int),
              sample_weight=weights)
    return model


def hazard_metrics(*, probabilities, labels, weights=None) -> dict:
    """Brier score, ROC AUC and calibration by decile of predicted risk."""
    probabilities = np.asarray(probabilities, float)
    labels = np.asarray(labels, int)
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights)
    both_classes = len(set(labels[weights > 0].tolist())) == 2
    order = np.argsort(probabilities, kind="stable")
    cumulative = np.cumsum(weights[order])
    edges = np.searchsorted(
        cumulative, cumulative[-1] * np.arange(1, DECILES) / DECILES
    )
    deciles = []
    for index, part in enumerate(np.split(order, edges)):
        if len(part) == 0:
            continue
        mass = weights[part].sum()
        deciles.append({
            "decile": index + 1,
            "weight": float(mass),
            "predicted": float(np.dot(probabilities[part], weights[part]) / mass),
            "observed": float(np.dot(labels[part], weights[part]) / mass),
        })
    return {
        "brier": float(brier_score_loss(labels, probabilities,
                                        sample_weight=weights)),
        "roc_auc": (
            float(roc_auc_score(labels, probabilities, sample_weight=weights))
            if both_classes else None
        ),
        "positive_rate": float(np.dot(labels, weights) / weights.sum()),
        "samples": float(weights.sum()),
        "calibration": deciles,
    }
