from django.conf import settings
from django.db import models
from django.utils import timezone


class Activity(models.Model):
    """One change to a base's structure or access, by whom, when."""

    base = models.ForeignKey(
        "bases.Base", on_delete=models.CASCADE, related_name="activity"
    )
    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Who, kept when the user or token is deleted: "ada@example.com (token 'ci')", "system".
    who = models.CharField(max_length=300, blank=True, default="")
    action = models.CharField(max_length=40)  # "field.create": audit/log.py ACTIONS
    # What it was done to, as it was called then: "projects › budget".
    target = models.CharField(max_length=300, blank=True, default="")
    target_id = models.CharField(max_length=40, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["base", "-at"]),
            models.Index(fields=["base", "action", "-at"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.who} {self.action} {self.target}"
