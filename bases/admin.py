"""Admin pages for bases and tables, with django-guardian's object-permission pages.

"Object permissions" on a base or a table lists who holds what there: the mirror of the base
roles and table overrides (permissions/object_perms.py). The roles themselves are changed on the
base's members page; an edit made on guardian's page is undone by the next sync of that member
and reported by `manage.py guardian_drift` until then.
"""

from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from bases.models import Base, Table


@admin.register(Base)
class BaseAdmin(GuardedModelAdmin):
    list_display = ["title", "created_by", "created_at"]
    search_fields = ["title"]
    raw_id_fields = ["created_by"]


@admin.register(Table)
class TableAdmin(GuardedModelAdmin):
    list_display = ["title", "base", "table_name", "kind"]
    list_select_related = ["base"]
    search_fields = ["title", "table_name"]
    raw_id_fields = ["base", "source"]
