"""Who may do what in a base, and the API tokens that act for users."""

import hashlib

from django.conf import settings
from django.db import models
from guardian.models import UserObjectPermissionBase

from bases.models import Base


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    CREATOR = "creator", "Creator"
    EDITOR = "editor", "Editor"
    COMMENTER = "commenter", "Commenter"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    base = models.ForeignKey(Base, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["base", "user"], name="one_membership_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.base}"


def hash_token(raw: str) -> str:
    # Tokens are 32 random bytes: a fast hash is enough (nothing to brute-force), and lets the
    # lookup be one indexed query.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=200)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so a user can tell tokens apart without the secret.
    prefix = models.CharField(max_length=16)
    base = models.ForeignKey(
        Base, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


NO_ACCESS = "none"


class TableRole(models.Model):
    """A member's role for one table, replacing their base role there (raise or lower it).

    The store of table roles; permissions/object_perms.py mirrors the effective role into
    django-guardian (TableUserObjectPermission) for admin pages and guardian's shortcuts.
    A small explicit model rather than guardian as the store, on purpose:
    - an override is ONE ordered role per (user, table) ("none" = the table does not exist for
      them), which a unique constraint enforces here; guardian stores sets of boolean
      permissions, where "exactly one role, or none" would be an invariant kept by hand;
    - the hot API path reads the override in the same SQL query as the metadata version
      (bases/metacache.py: one LEFT JOIN on an indexed (table_id, user_id)); guardian's generic
      (content_type, object_pk varchar, permission) rows need two more joins and a cast;
    - guardian would need `Meta.permissions` on bases.Table (a bases migration) for codenames
      that only ever stand for our five roles.
    guardian stays installed and in AUTHENTICATION_BACKENDS, holding the mirror.
    """

    ROLE_CHOICES = [
        (Role.CREATOR, "Creator"),
        (Role.EDITOR, "Editor"),
        (Role.COMMENTER, "Commenter"),
        (Role.VIEWER, "Viewer"),
        (NO_ACCESS, "No access"),
    ]

    table = models.ForeignKey(
        "bases.Table", on_delete=models.CASCADE, related_name="member_roles"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="table_roles"
    )
    role = models.CharField(max_length=20, choices=ROLE_CHOICES)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["table", "user"], name="one_table_role_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} on {self.table}"


class FieldRule(models.Model):
    """A field read-only for roles below one level, hidden from roles below another.

    Part of the table's metadata (cached with it; changes bump the source's meta_version).
    """

    field = models.OneToOneField(
        "bases.Field", on_delete=models.CASCADE, related_name="permission_rule"
    )
    hidden_below = models.CharField(
        max_length=20, choices=Role.choices, blank=True, default=""
    )
    read_only_below = models.CharField(
        max_length=20, choices=Role.choices, blank=True, default=""
    )

    def __str__(self) -> str:
        return f"{self.field}: hidden below {self.hidden_below or '-'}, read-only below {self.read_only_below or '-'}"


class Invite(models.Model):
    """An invitation to join a base by email; the link carries a secret stored hashed."""

    base = models.ForeignKey(Base, on_delete=models.CASCADE, related_name="invites")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} invited to {self.base} as {self.role}"


class Comment(models.Model):
    """One comment in a row's thread. `record_id` is the record id as the API spells it."""

    base = models.ForeignKey(Base, on_delete=models.CASCADE, related_name="+")
    table = models.ForeignKey(
        "bases.Table", on_delete=models.CASCADE, related_name="comments"
    )
    record_id = models.CharField(max_length=255)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="comments",
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["table", "record_id"], name="comment_row_idx")]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.table_id}/{self.record_id}"


# django-guardian object permissions with a real foreign key to their object ("direct" models:
# guardian finds them by the `content_object` field): an indexed integer/char join instead of the
# generic varchar object_pk, and the rows go with their base or table on delete. Only
# permissions/object_perms.py writes them, from Membership and TableRole.


class BaseUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Base, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        pass


class TableUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey("bases.Table", on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        pass


class ExternalIdentity(models.Model):
    """A user of an external identity provider (an issuer's `sub`) linked to a platform user:
    Bearer JWTs (permissions/jwt_auth.py) and OpenID Connect sign-in (permissions/oidc.py)."""

    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="external_identities",
    )
    # The email the link was made by (verified by the provider then), for admins' eyes.
    email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "subject"], name="one_user_per_external_identity"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer} is {self.user}"
