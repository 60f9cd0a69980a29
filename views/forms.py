from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm, UserCreationForm
from django.core.exceptions import ValidationError

from bases.connections.config import ConnectionConfig
from bases.fieldtypes import CREATABLE, REGISTRY
from permissions import accounts


class SignupForm(UserCreationForm):
    """The address and a password (Django's password rules). Whether the address is taken
    is not checked here: permissions.accounts.account_signup decides, without telling."""

    email = forms.EmailField(required=True)

    class Meta:
        model = get_user_model()
        fields = ("email",)

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class CountedPasswordChangeForm(PasswordChangeForm):
    """Django's, with each wrong old password counted like a failed sign-in (same limits,
    same lock; permissions/accounts.py)."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        if not accounts.password_check_allowed(self.request, self.user):
            raise ValidationError(
                "Too many wrong passwords; try again later.", code="locked"
            )
        try:
            return super().clean_old_password()
        except ValidationError:
            accounts.password_check_failed(self.request, self.user)
            raise


class BaseForm(forms.Form):
    MODES = [
        ("scratch", "Start from scratch"),
        ("url", "Connect with a URL"),
        ("fields", "Connect with connection details"),
    ]
    title = forms.CharField(max_length=200)
    mode = forms.ChoiceField(choices=MODES, initial="scratch", widget=forms.RadioSelect)
    url = forms.CharField(
        required=False,
        label="Database URL",
        help_text="postgresql://user:password@host:5432/db?schema=public, mysql://user:password@host:3306/db or sqlite:///path/to/file.db",
    )
    kind = forms.ChoiceField(
        required=False,
        choices=[
            ("pg", "PostgreSQL"),
            ("mysql2", "MySQL / MariaDB"),
            ("sqlite3", "SQLite"),
        ],
        label="Type",
    )
    host = forms.CharField(required=False)
    port = forms.IntegerField(required=False, min_value=1, max_value=65535)
    user = forms.CharField(required=False)
    password = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=True)
    )
    database = forms.CharField(required=False)
    schema = forms.CharField(
        required=False, help_text="PostgreSQL only; default public"
    )
    path = forms.CharField(required=False, label="SQLite file path")
    allow_schema_edit = forms.BooleanField(
        required=False, initial=False, label="Allow schema edits"
    )
    allow_data_edit = forms.BooleanField(
        required=False, initial=True, label="Allow data edits"
    )

    def connection_config(self) -> ConnectionConfig | None:
        data = self.cleaned_data
        if data["mode"] == "scratch":
            return None
        if data["mode"] == "url":
            return ConnectionConfig.from_url(data.get("url") or "")
        return ConnectionConfig.from_dict(
            {
                "type": data.get("kind"),
                "host": data.get("host"),
                "port": data.get("port"),
                "user": data.get("user"),
                "password": data.get("password"),
                "database": data.get("database"),
                "schema": data.get("schema"),
                "path": data.get("path"),
            }
        )


class TokenForm(forms.Form):
    name = forms.CharField(max_length=200)
    base = forms.ChoiceField(required=False, label="Limit to base")
    read_only = forms.BooleanField(required=False, label="Read-only")

    def __init__(self, *args, bases=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["base"].choices = [("", "All my bases")] + [
            (b.pk, b.title) for b in bases
        ]


class TableForm(forms.Form):
    title = forms.CharField(max_length=255)


class ColumnForm(forms.Form):
    title = forms.CharField(max_length=255)
    uidt = forms.ChoiceField(
        label="Type", choices=[(u, REGISTRY[u].label) for u in CREATABLE]
    )
    choices = forms.CharField(
        required=False, label="Options (comma separated, for selects)"
    )


class SourceSettingsForm(forms.Form):
    allow_data_edit = forms.BooleanField(required=False, label="Allow data edits")
    allow_schema_edit = forms.BooleanField(required=False, label="Allow schema edits")


def signup_enabled() -> bool:
    return settings.NOCO_SIGNUP_ENABLED
