"""The artefact format of the model registry: skops, never pickle.

A skops file is a zip archive of JSON and arrays; loading it builds only
types that are explicitly trusted, so an uploaded file cannot run code on
the server. Anything that is not a zip archive (a pickle starts with
0x80) is refused before any parser sees it.
"""

import io
import zipfile

import numpy as np

from decisions.engines.learned import HazardModel

ZIP_MAGIC = b"PK\x03\x04"
PICKLE_PROTOCOL_MARK = b"\x80"
# Beyond the types skops trusts by default (numpy, builtins and most of
# scikit-learn), the calibration internals of the hazard model.
TRUSTED_TYPES = frozenset({
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
})
REQUIRED_KEYS = ("name", "version", "features", "estimator")


class ArtifactRefused(Exception):
    """The file is not an artefact the registry will load."""


def _skops():
    # Imported on use: skops pulls in scikit-learn, which web workers that
    # never touch a model should not pay for in memory and start-up time.
    import skops.io

    return skops.io


def artifact_dump(model: HazardModel) -> bytes:
    return _skops().dumps({
        "name": model.name,
        "version": model.version,
        "features": list(model.features),
        "horizon_hours": float(model.horizon_hours),
        "metrics": model.metrics,
        "estimator": model.estimator,
    })


def artifact_check_format(data: bytes) -> None:
    """Refuse pickles and anything else that is not a skops archive."""
    if data[:1] == PICKLE_PROTOCOL_MARK:
        raise ArtifactRefused(
            "This is a pickle. Pickles can run code when loaded, so the "
            "registry refuses them; export the model with skops.io.dump."
        )
    if not data.startswith(ZIP_MAGIC) or not zipfile.is_zipfile(io.BytesIO(data)):
        raise ArtifactRefused("Not a skops file (expected a zip archive).")


def artifact_load(data: bytes) -> HazardModel:
    """Load an artefact, trusting only known types; raise ArtifactRefused."""
    artifact_check_format(data)
    try:
        untrusted = set(_skops().get_untrusted_types(data=data))
    except Exception as error:
        raise ArtifactRefused(f"Unreadable skops file: {error}") from error
    unknown = sorted(untrusted - TRUSTED_TYPES)
    if unknown:
        raise ArtifactRefused(f"Untrusted types in the file: {', '.join(unknown)}")

    try:
        content = _skops().loads(data, trusted=sorted(untrusted))
    except Exception as error:
        raise ArtifactRefused(f"The file does not load: {error}") from error
    if not isinstance(content, dict) or any(k not in content for k in REQUIRED_KEYS):
        raise ArtifactRefused(
            f"An artefact is a dict with {', '.join(REQUIRED_KEYS)}."
        )
    return HazardModel(
        name=str(content["name"]),
        version=str(content["version"]),
        features=[str(name) for name in content["features"]],
        estimator=content["estimator"],
        horizon_hours=float(content.get("horizon_hours", 24.0)),
        metrics=dict(content.get("metrics") or {}),
    )


def artifact_validate(model: HazardModel, fixture: dict) -> None:
    """Check a loaded model against the fixture rows; raise ArtifactRefused.

    The model must declare exactly features the fixture (and so the feature
    code) provides, score the fixture with probabilities in [0, 1], and its
    fast scoring path must agree with the estimator's own.
    """
    missing = [name for name in model.features if name not in fixture]
    if not model.features or missing:
        raise ArtifactRefused(
            "The model declares features this server does not compute: "
            + (", ".join(missing) or "(none declared)")
        )
    rows = np.stack([np.asarray(fixture[name], float) for name in model.features],
                    axis=1)
    try:
        scores = model.predict(rows)
        reference = model.predict_reference(rows)
    except Exception as error:
        raise ArtifactRefused(f"The model fails on the fixture: {error}") from error
    if not np.all(np.isfinite(scores)) or scores.min() < 0 or scores.max() > 1:
        raise ArtifactRefused("The model's scores are not probabilities.")
    if not np.allclose(scores, reference, atol=1e-6):
        raise ArtifactRefused("The fast scoring path disagrees with the model.")
