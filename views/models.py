"""Views of a table: which rows (filter), in what order (sort), with which fields.

The grid, gallery, kanban, calendar and form pages build on this; the records API applies a
view's filter, sort and fields when called with `viewId`.
"""

import secrets

from django.conf import settings
from django.db import models

from bases.models import Table


def new_view_id() -> str:
    return "vw" + secrets.token_hex(7)


class View(models.Model):
    class Type(models.TextChoices):
        GRID = "grid", "Grid"
        GALLERY = "gallery", "Gallery"
        KANBAN = "kanban", "Kanban"
        CALENDAR = "calendar", "Calendar"
        FORM = "form", "Form"

    id = models.CharField(
        primary_key=True, max_length=20, default=new_view_id, editable=False
    )
    table = models.ForeignKey(Table, on_delete=models.CASCADE, related_name="views")
    title = models.CharField(max_length=255)
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.GRID)
    order = models.PositiveIntegerField(default=0)
    # Filter in the records API's where dialect, validated against the table when saved.
    where = models.TextField(blank=True, default="")
    # Sort in the API's dialect: "-created_at,name".
    sort = models.TextField(blank=True, default="")
    # Field ids in display order; fields left out are hidden. Empty: every field, table order.
    field_order = models.JSONField(default=list, blank=True)
    hidden_fields = models.JSONField(default=list, blank=True)
    # Per-type settings (row height, column widths, kanban stack field, calendar date field…).
    options = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "created_at"]

    def __str__(self) -> str:
        return self.title


def new_share_token() -> str:
    """A public link's id: 192 random bits, URL-safe (unguessable; never derived from ids)."""
    return secrets.token_urlsafe(24)


class ViewShare(models.Model):
    """A view's public link (read-only shared view, or a form's public page).

    Deleting it revokes the link; regenerating gives a new token, so the old link 404s.
    """

    view = models.OneToOneField(View, on_delete=models.CASCADE, related_name="share")
    token = models.CharField(max_length=64, unique=True, default=new_share_token)
    # A Django password hash (make_password); empty: no password.
    password = models.CharField(max_length=256, blank=True, default="")
    allow_csv = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"share of {self.view_id}"
