from django import forms


class TargetForm(forms.Form):
    """A target pool among the instance's options, or on-demand."""

    target_pool_id = forms.ChoiceField(label="Target pool")

    def __init__(self, *args, options: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [
            (row["pool_id"], f"{row['pool_id']} ({_price(row['price'])})")
            for row in options
        ]
        self.fields["target_pool_id"].choices = [
            *choices, ("ondemand", "On-demand")
        ]


class ForceSwitchForm(TargetForm):
    confirm = forms.BooleanField(
        label="Yes, switch this workload now", required=True
    )


class TerminateForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes, terminate this instance", required=True
    )


def _price(value) -> str:
    return f"${value:.4f}/h" if value is not None else "no price"
