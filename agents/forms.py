from django import forms
from django.forms.models import fields_for_model

from agents.models import CONFIG_FIELDS, Agent

_HELP_TEXTS = {
    "terminate_wait_seconds": "0 keeps the old instance as a zombie.",
    "min_savings_percent": "Automatic switches need at least this saving.",
    "risk_threshold": "0 to 1: pools riskier than this are avoided.",
}


class AgentConfigForm(forms.Form):
    """The agent settings a client may change from the dashboard.

    A plain form rather than a ModelForm: validation must not touch the
    agent row, whose before-and-after the config service audits.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(
            fields_for_model(Agent, fields=list(CONFIG_FIELDS), help_texts=_HELP_TEXTS)
        )

    def clean_risk_threshold(self):
        value = self.cleaned_data["risk_threshold"]
        if not 0 <= value <= 1:
            raise forms.ValidationError("Between 0 and 1.")
        return value

    def clean_replica_count(self):
        value = self.cleaned_data["replica_count"]
        if value > 5:
            raise forms.ValidationError("At most 5 replicas.")
        return value
