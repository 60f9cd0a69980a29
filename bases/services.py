"""Writes for bases and data sources: create, connect, change settings, sync, delete."""

from __future__ import annotations

from dataclasses import replace

from django.db import transaction

from audit import log as audit
from bases import netpolicy
from bases import sync as meta_sync
from bases.connections import replicas as replica_set
from bases.connections.aliases import forget_source
from bases.connections.config import ConnectionConfig
from bases.models import Base, DataSource
from bases.sources import (
    builtin_config,
    config_of,
    drop_builtin,
    prepare_builtin,
    store_config,
)
from nocoplatform.errors import Forbidden, InvalidInput
from permissions import authcache
from permissions.checks import Actor, require
from permissions.services import membership_create
from records import meta_events


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput("A base needs a title.", code="INVALID_INPUT")
    if len(title) > 200:
        raise InvalidInput("A title is at most 200 characters.")
    return title


def base_create(*, actor: Actor, title: str, description: str = "") -> Base:
    """A base from scratch: its tables live in the built-in store."""
    if not actor.is_authenticated:
        raise Forbidden("Log in to create a base.")
    if actor.token is not None and (actor.token.read_only or actor.token.base_id):
        raise Forbidden("This API token may not create bases.")
    title = _clean_title(title)
    with transaction.atomic():
        base = Base.objects.create(
            title=title, description=description or "", created_by=actor.user
        )
        membership_create(base=base, user=actor.user, role="owner")
        source = DataSource(base=base, alias="Built-in", is_builtin=True)
        config = builtin_config(base.pk)
        store_config(source, config)
        source.save()
        audit.record(actor, base, "base.create", target=base.title, target_id=base.pk)
    prepare_builtin(config)
    return base


def base_connect(
    *,
    actor: Actor,
    title: str,
    config: ConnectionConfig,
    description: str = "",
    allow_data_edit: bool = True,
    allow_schema_edit: bool = False,
) -> tuple[Base, list[meta_sync.Change]]:
    """A base on an external database: test the connection, then read its schema."""
    if not actor.is_authenticated:
        raise Forbidden("Log in to connect a database.")
    if actor.token is not None and (actor.token.read_only or actor.token.base_id):
        raise Forbidden("This API token may not create bases.")
    title = _clean_title(title)
    netpolicy.connection_check(actor=actor, config=config)
    with transaction.atomic():
        base = Base.objects.create(
            title=title, description=description or "", created_by=actor.user
        )
        membership_create(base=base, user=actor.user, role="owner")
        source = DataSource(
            base=base,
            alias=config.database or config.path.rsplit("/", 1)[-1],
            allow_data_edit=allow_data_edit,
            allow_schema_edit=allow_schema_edit,
            approved_by_admin=netpolicy.actor_trusted(actor),
        )
        store_config(source, config)
        source.save()
        changes = meta_sync.sync(source)
        audit.record(
            actor,
            base,
            "base.connect",
            target=base.title,
            target_id=base.pk,
            database=config.public_url() if config.kind != "sqlite3" else config.path,
            tables=base.tables.count(),
        )
    return base, changes


def source_update(
    *,
    actor: Actor,
    source: DataSource,
    config: ConnectionConfig | None = None,
    alias: str | None = None,
    allow_data_edit: bool | None = None,
    allow_schema_edit: bool | None = None,
    replicas: list[str] | None = None,
) -> DataSource:
    """`replicas`: read replica URLs replacing the stored ones ([] removes them), each checked
    to be a replica of this source (bases/connections/replicas.py)."""
    require(actor, "source.manage", source.base)
    if config is not None:
        if source.is_builtin:
            raise InvalidInput("The built-in store's connection cannot be changed.")
        config = config.with_password_of(config_of(source))
        netpolicy.connection_check(actor=actor, config=config)
        store_config(source, config)
        # Whoever last set the connection answers for where it points (bases/netpolicy.py).
        source.approved_by_admin = netpolicy.actor_trusted(actor)
        forget_source(source.pk)
    if replicas is not None:
        urls = replica_set.checked_urls(replicas, source=source, actor=actor)
        # Checked with `actor`'s network rights: a replica needs no more trust than its
        # primary's approval, and cannot get more than the actor has.
        store_config(source, replace(config_of(source), replicas=urls))
        forget_source(source.pk)
    if alias is not None:
        source.alias = alias.strip()[:200]
    if allow_data_edit is not None:
        source.allow_data_edit = bool(allow_data_edit)
    if allow_schema_edit is not None:
        source.allow_schema_edit = bool(allow_schema_edit)
    source.meta_version += 1
    source.save()
    authcache.forget_on_commit()  # as schema_services._bump
    changed = [
        name
        for name, value in (
            ("connection", config),
            ("alias", alias),
            ("data edits", allow_data_edit),
            ("schema edits", allow_schema_edit),
            ("read replicas", replicas),
        )
        if value is not None
    ]
    audit.record(
        actor,
        source.base_id,
        "source.update",
        target=source.alias,
        target_id=source.pk,
        changed=changed,
        allow_data_edit=source.allow_data_edit,
        allow_schema_edit=source.allow_schema_edit,
    )
    return source


def base_update(
    *,
    actor: Actor,
    base: Base,
    title: str | None = None,
    description: str | None = None,
    cors_origins: list | None = None,
) -> Base:
    require(actor, "base.update", base)
    if title is not None:
        base.title = _clean_title(title)
    if description is not None:
        base.description = description
    if cors_origins is not None:
        from bases.cors import clean_origins

        base.cors_origins = clean_origins(cors_origins)
    base.save()
    audit.record(
        actor,
        base,
        "base.update",
        target=base.title,
        target_id=base.pk,
        changed=[
            name
            for name, value in (
                ("title", title),
                ("description", description),
                ("CORS origins", cors_origins),
            )
            if value is not None
        ],
    )
    return base


def base_sync(*, actor: Actor, base: Base, apply: bool) -> list[meta_sync.Change]:
    """The schema diff of every source of a base, applied when `apply`."""
    require(actor, "base.sync", base)
    changes: list[meta_sync.Change] = []
    for source in base.sources.all():
        from bases.sources import user_db

        with user_db(source):
            changes += meta_sync.sync(source) if apply else meta_sync.diff(source)
    if apply and changes:
        audit.record(
            actor,
            base,
            "base.sync",
            target=base.title,
            target_id=base.pk,
            changes=[str(c) for c in changes[:50]],
            count=len(changes),
        )
    return changes


def base_delete(*, actor: Actor, base: Base) -> None:
    """Delete a base's metadata; the built-in store's data goes with it, external data stays."""
    require(actor, "base.delete", base)
    builtin = [config_of(s) for s in base.sources.filter(is_builtin=True)]
    for source in base.sources.all():
        forget_source(source.pk)
    with transaction.atomic():
        # Its tables' sockets reload (and find the table gone), its members lose access.
        for table_id in base.tables.values_list("pk", flat=True):
            meta_events.schema_changed(table_id)
        meta_events.access_changed(base.pk)
        base.delete()
    for config in builtin:
        drop_builtin(config)
