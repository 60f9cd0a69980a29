"""PostgreSQL meta DB: NOTIFY `noco_auth` whenever something an API token's answer depends on
changes (permissions/authcache.py). Nothing on other databases.

Statement-level triggers: one notification per statement (and PostgreSQL folds identical ones of
a transaction into one), sent at commit. `UPDATE OF` lists the columns the token query reads, so
the once-a-minute `last_used_at` write and a user's `last_login` do not empty every process's
cache.
"""

from django.conf import settings
from django.db import migrations

FUNCTION = "noco_auth_changed"

# (model, events): the columns in UPDATE OF are attnames of the model's fields, mapped to
# columns below.
WATCHED = [
    (
        ("permissions", "ApiToken"),
        ["revoked_at", "token_hash", "user_id", "base_id", "read_only"],
    ),
    (
        None,  # the user model
        [
            "is_active",
            "is_staff",
            "is_superuser",
            "username",
            "email",
            "first_name",
            "last_name",
        ],
    ),
    (("permissions", "Membership"), None),  # every change
    (("permissions", "TableRole"), None),
    (("bases", "Table"), ["base_id", "source_id"]),
    (("bases", "DataSource"), ["meta_version"]),
]


def _targets(apps):
    for label, columns in WATCHED:
        model = (
            apps.get_model(settings.AUTH_USER_MODEL)
            if label is None
            else apps.get_model(*label)
        )
        if columns is not None:
            by_attname = {f.attname: f.column for f in model._meta.concrete_fields}
            columns = [by_attname[c] for c in columns]
        yield model._meta.db_table, columns


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    q = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM pg_notify('noco_auth', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    for table, columns in _targets(apps):
        if columns is None:
            events = "INSERT OR UPDATE OR DELETE"
        else:
            events = f"INSERT OR UPDATE OF {', '.join(q(c) for c in columns)} OR DELETE"
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION} ON {q(table)}")
        schema_editor.execute(
            f"CREATE TRIGGER {FUNCTION} AFTER {events} ON {q(table)} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {FUNCTION}_truncate AFTER TRUNCATE ON {q(table)} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    q = schema_editor.quote_name
    for table, _ in _targets(apps):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION} ON {q(table)}")
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {FUNCTION}_truncate ON {q(table)}"
        )
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [
        ("bases", "0001_initial"),
        ("permissions", "0002_table_roles_field_rules_invites_comments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create, drop)]
