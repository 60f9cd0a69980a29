"""API tokens over REST: list, create (secret shown once), revoke."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases import selectors
from nocoplatform.errors import Forbidden, InvalidInput
from permissions import comments, services
from permissions.checks import actor_from_request
from permissions.jwt_auth import ExternalToken
from permissions.models import ApiToken
from permissions.services import api_token_create, api_token_revoke


def token_json(token: ApiToken) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "base_id": token.base_id,
        "read_only": token.read_only,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked": token.revoked_at is not None,
    }


class TokenListApi(APIView):
    @extend_schema(
        summary="Your API tokens (never their secrets)",
        responses={200: dict},
        tags=["Tokens"],
    )
    def get(self, request: Request) -> Response:
        tokens = ApiToken.objects.filter(user=request.user, revoked_at__isnull=True)
        return Response({"list": [token_json(t) for t in tokens]})

    @extend_schema(
        summary="Create an API token; the answer carries the secret this once",
        request=dict,
        responses={201: dict},
        tags=["Tokens"],
    )
    def post(self, request: Request) -> Response:
        actor = actor_from_request(request)
        if actor.token is not None:
            raise Forbidden("API tokens cannot create other tokens; use the web app.")
        if isinstance(request.auth, ExternalToken):
            # A short-lived provider token must not mint a permanent credential.
            raise Forbidden(
                "Identity provider tokens cannot create API tokens; use the web app."
            )
        data = request.data if isinstance(request.data, dict) else {}
        base = None
        if data.get("base_id"):
            base = selectors.base_get(actor=actor, base_id=str(data["base_id"]))
        read_only = data.get("read_only", False)
        if not isinstance(read_only, bool):
            raise InvalidInput("`read_only` must be true or false.")
        token, raw = api_token_create(
            user=request.user, name=data.get("name", ""), base=base, read_only=read_only
        )
        return Response(token_json(token) | {"token": raw}, status=201)


class TokenDetailApi(APIView):
    @extend_schema(
        summary="Revoke an API token", responses={200: dict}, tags=["Tokens"]
    )
    def delete(self, request: Request, token_id: int) -> Response:
        actor = actor_from_request(request)
        if actor.token is not None and actor.token.pk != token_id:
            raise Forbidden("API tokens can only revoke themselves.")
        if isinstance(request.auth, ExternalToken):
            raise Forbidden(
                "Identity provider tokens cannot manage API tokens; use the web app."
            )
        api_token_revoke(user=request.user, token_id=token_id)
        return Response({"revoked": True})


# --- members, invites, table overrides, field rules, comments ------------------------------


def _data(request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidInput("Send a JSON object.", code="INVALID_BODY")
    return request.data


def member_json(m) -> dict:
    return {
        "id": m.user_id,
        "email": m.user.email,
        "display_name": m.user.get_full_name() or m.user.username,
        "roles": m.role,
        "created_at": m.created_at,
    }


def invite_url(request, raw: str) -> str:
    from django.urls import reverse

    return request.build_absolute_uri(reverse("invite_accept", args=[raw]))


class MemberListApi(APIView):
    @extend_schema(
        summary="A base's members and their roles",
        responses={200: dict},
        tags=["Members"],
    )
    def get(self, request: Request, base_id: str) -> Response:
        actor = actor_from_request(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        members = services.member_list(actor=actor, base=base)
        return Response({"users": {"list": [member_json(m) for m in members]}})

    @extend_schema(
        summary="Invite someone by email with a role",
        description='`{"email": "...", "roles": "editor"}`. Owners invite with any role, '
        "creators up to creator. The answer carries the invite link (`invite_url`); it is "
        "also emailed when the server has an email backend (`email_sent`).",
        request=dict,
        responses={201: dict},
        tags=["Members"],
    )
    def post(self, request: Request, base_id: str) -> Response:
        actor = actor_from_request(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        data = _data(request)
        invite, raw, sent = services.invite_create(
            actor=actor,
            base=base,
            email=data.get("email"),
            role=data.get("roles", data.get("role")),
            accept_url=invite_url(request, "TOKEN").replace("TOKEN", "{token}"),
        )
        return Response(
            {
                "invite_id": invite.pk,
                "email": invite.email,
                "roles": invite.role,
                "invite_url": invite_url(request, raw),
                "email_sent": sent,
            },
            status=201,
        )


class MemberDetailApi(APIView):
    @extend_schema(
        summary="Change a member's role (owners)",
        request=dict,
        responses={200: dict},
        tags=["Members"],
    )
    def patch(self, request: Request, base_id: str, user_id: int) -> Response:
        actor = actor_from_request(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        data = _data(request)
        membership = services.member_update(
            actor=actor,
            base=base,
            user_id=user_id,
            role=data.get("roles", data.get("role")),
        )
        return Response(member_json(membership))

    @extend_schema(
        summary="Remove a member (owners), or leave the base (yourself)",
        responses={200: dict},
        tags=["Members"],
    )
    def delete(self, request: Request, base_id: str, user_id: int) -> Response:
        actor = actor_from_request(request)
        base = selectors.base_get(actor=actor, base_id=base_id)
        services.member_remove(actor=actor, base=base, user_id=user_id)
        return Response({"removed": True})


def table_role_json(o) -> dict:
    return {"user_id": o.user_id, "email": o.user.email, "roles": o.role}


class TableRoleListApi(APIView):
    @extend_schema(
        summary="A table's per-member role overrides (owners)",
        responses={200: dict},
        tags=["Members"],
    )
    def get(self, request: Request, table_id: str) -> Response:
        actor = actor_from_request(request)
        table = selectors.table_get(actor=actor, table_id=table_id)
        items = services.table_role_list(actor=actor, table=table)
        return Response({"list": [table_role_json(o) for o in items]})

    @extend_schema(
        summary="Raise or lower a member's role for this table",
        description='`{"user_id": 3, "roles": "viewer"}`; `"none"` hides the table from them.',
        request=dict,
        responses={200: dict},
        tags=["Members"],
    )
    def post(self, request: Request, table_id: str) -> Response:
        actor = actor_from_request(request)
        table = selectors.table_get(actor=actor, table_id=table_id)
        data = _data(request)
        override = services.table_role_set(
            actor=actor,
            table=table,
            user_id=data.get("user_id"),
            role=data.get("roles", data.get("role")),
        )
        return Response(table_role_json(override))


class TableRoleDetailApi(APIView):
    @extend_schema(
        summary="Drop a member's override (back to their base role)",
        responses={200: dict},
        tags=["Members"],
    )
    def delete(self, request: Request, table_id: str, user_id: int) -> Response:
        actor = actor_from_request(request)
        table = selectors.table_get(actor=actor, table_id=table_id)
        services.table_role_clear(actor=actor, table=table, user_id=user_id)
        return Response({"removed": True})


class FieldRuleApi(APIView):
    @extend_schema(
        summary="A field's permission rule (owners)",
        responses={200: dict},
        tags=["Members"],
    )
    def get(self, request: Request, column_id: str) -> Response:
        actor = actor_from_request(request)
        field = selectors.field_get(actor=actor, field_id=column_id)
        rule = services.field_rule_get(actor=actor, field=field)
        return Response(
            {
                "hidden_below": rule.hidden_below if rule else "",
                "read_only_below": rule.read_only_below if rule else "",
            }
        )

    @extend_schema(
        summary="Hide a field from, or make it read-only for, roles below a level",
        description='`{"hidden_below": "editor", "read_only_below": "creator"}`; "" for no limit.',
        request=dict,
        responses={200: dict},
        tags=["Members"],
    )
    def put(self, request: Request, column_id: str) -> Response:
        actor = actor_from_request(request)
        field = selectors.field_get(actor=actor, field_id=column_id)
        data = _data(request)
        rule = services.field_rule_set(
            actor=actor,
            field=field,
            hidden_below=data.get("hidden_below", ""),
            read_only_below=data.get("read_only_below", ""),
        )
        return Response(
            {
                "hidden_below": rule.hidden_below if rule else "",
                "read_only_below": rule.read_only_below if rule else "",
            }
        )


def comment_json(c) -> dict:
    return {
        "id": c.pk,
        "fk_model_id": c.table_id,
        "row_id": c.record_id,
        "comment": c.text,
        "created_by": c.author_id,
        "created_by_email": c.author.email if c.author else None,
        "created_at": c.created_at,
        "updated_at": c.edited_at,
    }


class CommentListApi(APIView):
    @extend_schema(
        summary="A record's comments, oldest first",
        responses={200: dict},
        tags=["Comments"],
    )
    def get(self, request: Request, table_id: str, record_id: str) -> Response:
        actor = actor_from_request(request)
        table = selectors.table_get(actor=actor, table_id=table_id)
        items = comments.comment_list(actor=actor, table=table, record_id=record_id)
        return Response({"list": [comment_json(c) for c in items]})

    @extend_schema(
        summary="Comment on a record (commenter and up)",
        description='`{"comment": "text"}`',
        request=dict,
        responses={201: dict},
        tags=["Comments"],
    )
    def post(self, request: Request, table_id: str, record_id: str) -> Response:
        actor = actor_from_request(request)
        table = selectors.table_get(actor=actor, table_id=table_id)
        data = _data(request)
        comment = comments.comment_create(
            actor=actor,
            table=table,
            record_id=record_id,
            text=data.get("comment", data.get("text")),
        )
        return Response(comment_json(comment), status=201)


class CommentDetailApi(APIView):
    @extend_schema(
        summary="Edit your comment",
        request=dict,
        responses={200: dict},
        tags=["Comments"],
    )
    def patch(self, request: Request, comment_id: int) -> Response:
        actor = actor_from_request(request)
        comment = comments.comment_get(actor=actor, comment_id=comment_id)
        data = _data(request)
        comment = comments.comment_update(
            actor=actor, comment=comment, text=data.get("comment", data.get("text"))
        )
        return Response(comment_json(comment))

    @extend_schema(
        summary="Delete your comment (owners: any comment)",
        responses={200: dict},
        tags=["Comments"],
    )
    def delete(self, request: Request, comment_id: int) -> Response:
        actor = actor_from_request(request)
        comment = comments.comment_get(actor=actor, comment_id=comment_id)
        comments.comment_delete(actor=actor, comment=comment)
        return Response({"deleted": True})
