"""`Idempotency-Key` on record POSTs: a retried create answers as the first one did and creates
nothing more (beyond NocoDB; docs/api.md).

A key is remembered per caller (the API token, or the user of a browser session), table and
key, with a SHA-256 of the body (its JSON with sorted keys, so spacing and key order do not
matter), in the meta DB (bases.models.IdempotencyKey) for NOCO_IDEMPOTENCY_TTL seconds.

- First request: the key is reserved (committed at once, so a concurrent duplicate sees it),
  the records are created, and the answer (status and body) is stored with the key.
- Same key, same body, answered: that answer again (header `Idempotent-Replayed: true`).
- Same key, another body: 422 IDEMPOTENCY_KEY_REUSED, nothing created.
- Same key while the first request still runs: 409 IDEMPOTENCY_KEY_IN_FLIGHT (with
  Retry-After), nothing created. Answering at once rather than waiting keeps a worker free and
  is what the IETF draft and Stripe do; the client retries and then gets the stored answer.
- A request that fails (any error, the insert rolled back) forgets its key: a retry runs again.
- If the process dies between the user database's commit and storing the answer, the key stays
  "in flight" until it expires: retries get 409 rather than a second copy of the records.

The user database and the meta DB are two databases, so "created" and "remembered" cannot
commit together; the order above (reserve, write, remember) is the one that never creates
twice.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from bases.models import IdempotencyKey, Table
from nocoplatform.errors import Conflict, InvalidInput, Unprocessable
from permissions.checks import Actor

HEADER = "Idempotency-Key"
# Visible ASCII (a UUID, or any client-made token), at most 255 characters.
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_PRUNE_EVERY = 3600.0
_last_prune = [0.0]


def clean_key(raw: str) -> str:
    key = str(raw).strip()
    if not _KEY.match(key):
        raise InvalidInput(
            f"The {HEADER} header must be 1 to 255 visible ASCII characters "
            "(e.g. a UUID).",
            code="INVALID_IDEMPOTENCY_KEY",
        )
    return key


def caller_of(actor: Actor) -> str:
    if actor.token is not None:
        return f"token:{actor.token.pk}"
    return f"user:{actor.user.pk}"


def body_hash(body) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _reserve(caller: str, table: Table, key: str, digest: str):
    """(reserved row, None) when this request is the first; (None, existing row) else."""
    for _ in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    caller=caller,
                    table=table,
                    key=key,
                    body_hash=digest,
                    expires_at=now + timedelta(seconds=settings.NOCO_IDEMPOTENCY_TTL),
                )
            return row, None
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(
                caller=caller, table=table, key=key
            ).first()
            if existing is None:
                continue  # the first request failed and forgot it meanwhile
            if existing.expires_at <= now:
                IdempotencyKey.objects.filter(
                    pk=existing.pk, expires_at__lte=now
                ).delete()
                continue
            return None, existing
    raise Conflict(
        f"The {HEADER} is being used by several requests at once; retry.",
        code="IDEMPOTENCY_KEY_IN_FLIGHT",
    )


def _prune() -> None:
    """Expired keys go, at most once an hour per process (one indexed DELETE)."""
    if time.monotonic() - _last_prune[0] < _PRUNE_EVERY:
        return
    _last_prune[0] = time.monotonic()
    IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()


def run_once(
    *,
    actor: Actor,
    table: Table,
    key: str,
    body,
    run: Callable[[], tuple[int, object]],
) -> tuple[int, object, bool]:
    """(status, body, replayed): `run()`'s answer, or the stored answer of the first request
    that sent `key` with this body. The caller has authorised the request already."""
    key = clean_key(key)
    digest = body_hash(body)
    _prune()
    reserved, existing = _reserve(caller_of(actor), table, key, digest)
    if existing is not None:
        if existing.body_hash != digest:
            raise Unprocessable(
                f"This {HEADER} was used with another body; use a new key for a new "
                "request.",
                code="IDEMPOTENCY_KEY_REUSED",
            )
        if existing.status is None:
            raise Conflict(
                f"A request with this {HEADER} is still being processed; retry in a "
                "moment to get its answer.",
                code="IDEMPOTENCY_KEY_IN_FLIGHT",
                details={"retry_after": 1},
            )
        return existing.status, existing.response, True
    try:
        status, answer = run()
    except BaseException:
        IdempotencyKey.objects.filter(pk=reserved.pk).delete()
        raise
    IdempotencyKey.objects.filter(pk=reserved.pk).update(status=status, response=answer)
    return status, answer, False
