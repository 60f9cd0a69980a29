"""The grid's add-field form."""

from django import forms

from bases.fieldtypes import COMPUTED, CREATABLE, REGISTRY


class ColumnForm(forms.Form):
    title = forms.CharField(max_length=255)
    uidt = forms.ChoiceField(
        label="Type", choices=[(u, REGISTRY[u].label) for u in CREATABLE + COMPUTED]
    )
    choices = forms.CharField(
        required=False, label="Options (comma separated, for selects)"
    )
    formula_raw = forms.CharField(
        required=False,
        max_length=10_000,
        label="Formula (for formulas)",
        widget=forms.TextInput(attrs={"placeholder": "{Budget} * 1.2"}),
    )
