from django.conf import settings
from django.db import models


class SlowRequest(models.Model):
    """One HTTP request that took longer than NOCO_SLOW_REQUEST_MS (ops/slowlog.py)."""

    at = models.DateTimeField(db_index=True)
    method = models.CharField(max_length=10)
    # The URL pattern ("api/v2/tables/<str:table_id>/records"): requests of one endpoint group
    # together whatever their ids; the path keeps the ids (never the query string: it can hold
    # filter values a log reader should not see).
    route = models.CharField(max_length=300, blank=True, default="")
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField(db_index=True)
    sql_ms = models.PositiveIntegerField(default=0)
    sql_count = models.PositiveIntegerField(default=0)
    base_id = models.CharField(max_length=40, blank=True, default="")
    table_id = models.CharField(max_length=40, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Who asked, kept when the user or token is deleted: "alice@example.com (token 'ci')".
    who = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["route", "-at"])]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.duration_ms} ms"

    @property
    def sql_share(self) -> float:
        """The share of the request's time spent waiting for SQL statements (0–1)."""
        return min(self.sql_ms / self.duration_ms, 1.0) if self.duration_ms else 0.0
