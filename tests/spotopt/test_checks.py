from django.core.checks import run_checks
from django.test import override_settings

from spotopt.settings.base import INSECURE_SECRET_KEY


@override_settings(DEBUG=False, SECRET_KEY=INSECURE_SECRET_KEY)
def test_production_without_a_secret_key_fails_a_named_check():
    errors = [message.id for message in run_checks()]

    assert "spotopt.E001" in errors


@override_settings(DEBUG=False, SECRET_KEY="x" * 64)
def test_production_with_a_secret_key_passes_the_check():
    assert "spotopt.E001" not in [message.id for message in run_checks()]


@override_settings(DEBUG=True, SECRET_KEY=INSECURE_SECRET_KEY)
def test_development_may_use_the_placeholder_key():
    assert "spotopt.E001" not in [message.id for message in run_checks()]
