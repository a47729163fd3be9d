"""Train the hazard model from this deployment's own canonical tier."""

import numpy as np
from django.utils import timezone

from decisions.engines import HazardModel
from decisions.engines.features import (
    FEATURE_NAMES,
    feature_matrix,
    fleet_features,
    price_features,
)
from decisions.engines.training import hazard_fit, hazard_metrics
from decisions.selectors import pools_hourly_grid
from pricing.models import SpotPool

HORIZON_HOURS = 24
HOLDOUT_FRACTION = 0.2


class NotEnoughData(Exception):
    """Too few interruptions or exposure to fit a model."""


def hazard_train_from_db(*, days: int, version: str, progress=None):
    """Fit on pool-hours with fleet exposure; measure on the last fifth.

    A row is a pool-hour in which this fleet ran an instance; its label is
    whether the pool interrupted the fleet within the horizon after it.
    """
    pools = list(SpotPool.objects.filter(latest_price__isnull=False))
    if not pools:
        raise NotEnoughData("no priced pools")

    grid = pools_hourly_grid(pools=pools, now=timezone.now(), hours=days * 24)
    features = price_features(prices=grid["prices"], ondemand=grid["ondemand"])
    features.update(fleet_features(
        bands=grid["bands"], previous_bands=grid["previous_bands"],
        interruptions=grid["interruptions"], exposure_hours=grid["exposure"],
        rebalances=grid["rebalances"], rebalances_converted=grid["converted"],
    ))
    if progress:
        progress("features built")
    hours = grid["prices"].shape[1] - HORIZON_HOURS
    ahead = np.cumsum(grid["interruptions"][:, ::-1], axis=1)[:, ::-1]
    labels = (ahead[:, :hours] - ahead[:, HORIZON_HOURS:]) > 0
    exposed = grid["exposure"][:, :hours] > 0
    rows = feature_matrix({k: v[:, :hours] for k, v in features.items()})
    labels, exposed = labels.ravel(), exposed.ravel()
    cut = int(hours * (1 - HOLDOUT_FRACTION))
    in_train = np.tile(np.arange(hours) < cut, len(pools)) & exposed
    in_test = np.tile(np.arange(hours) >= cut, len(pools)) & exposed
    if labels[in_train].sum() < 3 or (~labels[in_train]).sum() < 3:
        raise NotEnoughData("fewer than 3 interrupted or uninterrupted rows")

    estimator = hazard_fit(rows=rows[in_train], labels=labels[in_train])
    model = HazardModel(
        name="hazard-logit", version=version, features=list(FEATURE_NAMES),
        estimator=estimator, horizon_hours=HORIZON_HOURS,
    )
    if progress:
        progress("model fitted")
    test = in_test if in_test.any() else in_train
    model.metrics = hazard_metrics(
        probabilities=model.predict(rows[test]), labels=labels[test]
    )
    return model
