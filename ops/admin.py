"""The slow-request log on the admin site: list, filter by endpoint, status, time and share of
SQL; read only (records are written by ops/slowlog.py only)."""

from django.contrib import admin

from ops.models import SlowRequest


class DurationFilter(admin.SimpleListFilter):
    title = "duration"
    parameter_name = "slower_than"
    BUCKETS = [
        ("500", "≥ 0.5 s"),
        ("1000", "≥ 1 s"),
        ("5000", "≥ 5 s"),
        ("30000", "≥ 30 s"),
    ]

    def lookups(self, request, model_admin):
        return self.BUCKETS

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(duration_ms__gte=int(value))
        return queryset


class SqlShareFilter(admin.SimpleListFilter):
    title = "time in SQL"
    parameter_name = "sql"

    def lookups(self, request, model_admin):
        return [("mostly", "more than half"), ("little", "half or less")]

    def queryset(self, request, queryset):
        from django.db.models import F

        if self.value() == "mostly":
            return queryset.filter(sql_ms__gt=F("duration_ms") / 2)
        if self.value() == "little":
            return queryset.filter(sql_ms__lte=F("duration_ms") / 2)
        return queryset


@admin.register(SlowRequest)
class SlowRequestAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "method",
        "route",
        "status",
        "duration_ms",
        "sql_ms",
        "sql_percent",
        "sql_count",
        "who",
        "base_id",
        "table_id",
    ]
    list_filter = [DurationFilter, SqlShareFilter, "status", "method", "at"]
    search_fields = ["route", "path", "who", "base_id", "table_id"]
    date_hierarchy = "at"
    ordering = ["-at"]
    list_per_page = 100

    @admin.display(description="SQL %")
    def sql_percent(self, obj: SlowRequest) -> str:
        return f"{obj.sql_share:.0%}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
