"""RecordsChanged: what one write of user rows did, described once for every listener.

The records service builds one per write (a bulk write is one event with many keys) and hands
it to records.dispatch.emit. Listeners read it; none may change it (the dataclass is frozen; its
dicts are shared with the write and must be treated as read-only too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bases.models import Field, Table
    from bases.table_meta import TableMeta
    from permissions.checks import Actor

OPS = ("insert", "update", "delete", "link", "unlink")


@dataclass(frozen=True, slots=True, eq=False)
class RecordsChanged:
    """One write of user rows.

    - `keys`: the primary key values of the rows written, in request order (a bulk update may
      name a row twice). For link/unlink: the one record whose link field was written.
    - `values`: the after image, per key the parsed values written ({Field: value}); insert
      and update only.
    - `before`: the before image, {key as text tuple: {field id: value}} as the record
      history keeps values (records.values.plain), read in the write's transaction with the
      rows locked: the written fields for an update, every column for a delete.
    - `prepared`: what a subscriber captured itself before the write (its `prepare` hook,
      records.dispatch), by subscriber name: the webhooks' previous rows with their conditions.
    - `link`, `related`, `targets`: for link/unlink, the link field, the related table's
      metadata and the primary key values of the records linked or unlinked.
    - `client_id`: the browser tab (X-Client-Id) the write came from, so realtime can skip it.
    - `using`: the connection alias of the user database the write ran on.
    """

    table: Table
    op: str
    keys: tuple[tuple, ...]
    actor: Actor
    meta: TableMeta
    using: str
    fields: tuple = ()
    values: tuple[Mapping[Field, Any], ...] = ()
    before: Mapping[tuple, Mapping] = field(default_factory=dict)
    prepared: Mapping[str, Any] = field(default_factory=dict)
    link: Field | None = None
    related: TableMeta | None = None
    targets: tuple = ()
    client_id: str = ""

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"unknown records event op {self.op!r}")

    @property
    def base_id(self):
        return self.table.base_id

    @property
    def origin(self) -> str:
        """Which door the write came through: system, form, share, api (a token) or user
        (a signed-in person: the grid, a form page of the app, or the API with a session)."""
        actor = self.actor
        if actor.system:
            return "system"
        if actor.share is not None:
            return "form" if actor.share.view.type == "form" else "share"
        if actor.token is not None:
            return "api"
        return "user"
