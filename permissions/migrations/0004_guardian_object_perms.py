"""Base and table roles mirrored in django-guardian (permissions/object_perms.py): the direct
foreign-key object permission models, then every existing membership and table override copied
into them.

The role -> permission table is frozen here as it stood when this migration was written (a
migration must not follow later code); `manage.py guardian_drift --fix` repairs with today's.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

BASE_PERMISSIONS = {
    "read_base": "Read the base (tables, records, views)",
    "comment_base": "Comment on records in the base",
    "edit_base_records": "Edit records in the base",
    "build_base": "Create and delete tables, fields, views and records",
    "manage_base": "Manage the base (settings, sources, members)",
}
TABLE_PERMISSIONS = {
    "read_table": "Read the table and its records",
    "comment_table": "Comment on the table's records",
    "edit_table_records": "Edit the table's records",
    "build_table": "Change the table's fields and views, add and delete records",
}
LEVELS = ["viewer", "commenter", "editor", "creator", "owner"]
# A role holds the permissions of its level and every level below.
BASE_BY_LEVEL = list(BASE_PERMISSIONS)  # viewer .. owner
TABLE_BY_LEVEL = list(TABLE_PERMISSIONS)  # viewer .. creator (owner: same as creator)


def _codes(role, by_level):
    if role not in LEVELS:  # "none" or unknown: nothing
        return []
    return by_level[: LEVELS.index(role) + 1]


def fill(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Base = apps.get_model("bases", "Base")
    Table = apps.get_model("bases", "Table")
    Membership = apps.get_model("permissions", "Membership")
    TableRole = apps.get_model("permissions", "TableRole")
    BasePerm = apps.get_model("permissions", "BaseUserObjectPermission")
    TablePerm = apps.get_model("permissions", "TableUserObjectPermission")
    if not Membership.objects.exists():
        return  # a fresh database: post_migrate creates the permissions, services the rows
    ids = {}
    for model, perms in (("base", BASE_PERMISSIONS), ("table", TABLE_PERMISSIONS)):
        ct, _ = ContentType.objects.get_or_create(app_label="bases", model=model)
        for code, name in perms.items():
            perm, _ = Permission.objects.get_or_create(
                content_type=ct, codename=code, defaults={"name": name}
            )
            ids[model, code] = perm.pk
    overrides = {
        (u, t): r for u, t, r in TableRole.objects.values_list("user_id", "table_id", "role")
    }
    tables = {}
    for base_id, table_id in Table.objects.values_list("base_id", "pk"):
        tables.setdefault(base_id, []).append(table_id)
    base_rows, table_rows = [], []
    for user_id, base_id, role in Membership.objects.values_list(
        "user_id", "base_id", "role"
    ):
        for code in _codes(role, BASE_BY_LEVEL):
            base_rows.append(
                BasePerm(user_id=user_id, content_object_id=base_id, permission_id=ids["base", code])
            )
        for table_id in tables.get(base_id, []):
            effective = overrides.get((user_id, table_id)) or role
            if effective == "owner":
                effective = "creator"
            for code in _codes(effective, TABLE_BY_LEVEL):
                table_rows.append(
                    TablePerm(user_id=user_id, content_object_id=table_id, permission_id=ids["table", code])
                )
    BasePerm.objects.bulk_create(base_rows, batch_size=1000, ignore_conflicts=True)
    TablePerm.objects.bulk_create(table_rows, batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('bases', '0004_guardian_object_perms'),
        ('permissions', '0003_auth_cache_triggers'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BaseUserObjectPermission',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('content_object', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='bases.base')),
                ('permission', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='auth.permission')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'abstract': False,
                'unique_together': {('user', 'permission', 'content_object')},
            },
        ),
        migrations.CreateModel(
            name='TableUserObjectPermission',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('content_object', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='bases.table')),
                ('permission', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='auth.permission')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'abstract': False,
                'unique_together': {('user', 'permission', 'content_object')},
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
