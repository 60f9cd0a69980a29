"""Forms of the base pages (bases/pages.py): a new base, a table, data-source settings."""

from django import forms

from bases.connections.config import ConnectionConfig


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


class TableForm(forms.Form):
    title = forms.CharField(max_length=255)


class SourceSettingsForm(forms.Form):
    allow_data_edit = forms.BooleanField(required=False, label="Allow data edits")
    allow_schema_edit = forms.BooleanField(required=False, label="Allow schema edits")
