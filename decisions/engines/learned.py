"""The learned engine: a calibrated interruption-hazard model per pool."""

from dataclasses import dataclass, field

import numpy as np

from decisions.engines.base import Engine
from decisions.engines.features import feature_row


@dataclass
class HazardModel:
    """A loaded model: the estimator and the features it declared."""

    name: str
    version: str
    features: list
    estimator: object
    horizon_hours: float = 24.0
    metrics: dict = field(default_factory=dict)
    _fast: object = None

    def __post_init__(self):
        self._fast = _linear_scorer(self.estimator)

    def predict(self, rows) -> np.ndarray:
        """P(interruption within the horizon) for each row of features."""
        rows = np.asarray(rows, dtype=float)
        if self._fast is not None:
            return self._fast(rows)
        return self.estimator.predict_proba(rows)[:, 1]

    def predict_reference(self, rows) -> np.ndarray:
        """The estimator's own answer, to check the fast path against."""
        return self.estimator.predict_proba(np.asarray(rows, dtype=float))[:, 1]


def _linear_scorer(estimator):
    """A numpy scorer for calibrated scaled logistic regressions, or None.

    scikit-learn's input checks cost about a millisecond per estimator per
    call, and a calibrated model holds one estimator per fold; a decision
    must take well under 5 ms, so the common shape is evaluated directly.
    The registry checks this path against predict_proba before activation.
    """
    folds = getattr(estimator, "calibrated_classifiers_", None)
    if not folds:
        return None
    parts = []
    for fold in folds:
        scale, linear = _scale_and_linear(fold.estimator)
        calibrator = fold.calibrators[0] if fold.calibrators else None
        if (
            linear is None or fold.method != "sigmoid"
            or not hasattr(calibrator, "a_")
        ):
            return None
        weights = linear.coef_.ravel() / scale[1]
        bias = float(linear.intercept_[0] - np.sum(weights * scale[0]))
        parts.append((weights, bias, float(calibrator.a_), float(calibrator.b_)))
    weights = np.stack([part[0] for part in parts])
    bias = np.asarray([part[1] for part in parts])
    slope = np.asarray([part[2] for part in parts])
    offset = np.asarray([part[3] for part in parts])

    def score(rows: np.ndarray) -> np.ndarray:
        logits = rows @ weights.T + bias
        return (1.0 / (1.0 + np.exp(logits * slope + offset))).mean(axis=1)

    return score


def _scale_and_linear(estimator):
    """((mean, scale), logistic regression) of a supported shape, or None."""
    if type(estimator).__name__ == "LogisticRegression":
        return (0.0, 1.0), estimator
    steps = getattr(estimator, "named_steps", {})
    scaler = steps.get("standardscaler")
    linear = steps.get("logisticregression")
    if scaler is None or linear is None or len(steps) != 2:
        return None, None
    return (scaler.mean_, scaler.scale_), linear


class LearnedEngine(Engine):
    """Risk from the active hazard model, from each candidate's features."""

    name = "learned"

    def __init__(self, model: HazardModel):
        self.hazard_model = model
        self.version = model.version

    def risks(self, candidates, context):
        rows = [
            feature_row(c.features, self.hazard_model.features)
            for c in candidates if not c.is_ondemand
        ]
        risks = np.zeros(len(candidates))
        if rows:
            spot = np.asarray([not c.is_ondemand for c in candidates])
            risks[spot] = self._scaled(self.hazard_model.predict(rows), context)
        return risks

    def _scaled(self, risks, context) -> np.ndarray:
        """Convert the model's horizon to the decision's, at constant hazard."""
        trained = self.hazard_model.horizon_hours
        if trained == context.horizon_hours:
            return risks
        hazard = -np.log1p(-np.clip(risks, 0, 1 - 1e-9)) / trained
        return 1.0 - np.exp(-hazard * context.horizon_hours)

    @property
    def model(self) -> dict:
        return {"name": self.hazard_model.name, "version": self.version}
