"""The webhook form of the HTML pages; it only shapes input, the service validates it."""

from django import forms

from webhooks.models import Webhook

EVENT_CHOICES = [
    ("insert", "After insert"),
    ("update", "After update"),
    ("delete", "After delete"),
]


class WebhookForm(forms.Form):
    title = forms.CharField(max_length=200)
    url = forms.CharField(label="URL", max_length=2000)
    method = forms.ChoiceField(choices=Webhook.Method.choices, initial="POST")
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    condition = forms.CharField(
        required=False,
        help_text="Optional filter, e.g. <code>(Status,eq,Done)~and(Points,gt,3)</code>",
    )
    condition_mode = forms.ChoiceField(
        label="Fire", choices=Webhook.Mode.choices, initial="becomes_true"
    )
    watch_fields = forms.MultipleChoiceField(
        label="Only when these fields change (updates)",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One <code>Name: value</code> per line",
    )
    batch_size = forms.IntegerField(
        label="Rows per call", min_value=1, initial=1, help_text="1 = one call per row"
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["watch_fields"].choices = [(f.id, f.title) for f in fields]

    def as_data(self) -> dict:
        d = self.cleaned_data
        headers = {}
        for line in (d.get("headers") or "").splitlines():
            if line.strip():
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
        return {
            "title": d["title"],
            "url": d["url"],
            "method": d["method"],
            "events": d["events"],
            "condition": d["condition"],
            "condition_mode": d["condition_mode"],
            "watch_fields": d["watch_fields"],
            "headers": headers,
            "batch_size": d["batch_size"],
            "active": d["active"],
        }

    @staticmethod
    def initial_of(hook: Webhook) -> dict:
        return {
            "title": hook.title,
            "url": hook.url,
            "method": hook.method,
            "events": hook.events,
            "condition": hook.condition,
            "condition_mode": hook.condition_mode,
            "watch_fields": hook.watch_fields,
            "headers": "\n".join(f"{k}: {v}" for k, v in (hook.headers or {}).items()),
            "batch_size": hook.batch_size,
            "active": hook.active,
        }
