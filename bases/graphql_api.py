"""GraphQL per base: POST /api/v2/bases/{baseId}/graphql (docs/graphql.md).

A thin view like the REST ones: the same authentication (session, API token, bearer JWT);
bases/gql/ authorises the base (404 for a base the caller cannot see, as the selectors do)
and runs the body.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bases.gql import execute
from nocoplatform.api import ERRORS, OrjsonParser
from permissions.checks import actor_from_request


class GraphqlApi(APIView):
    parser_classes = [OrjsonParser]

    @extend_schema(
        summary="GraphQL: query and change the base's records",
        description="Body `{query, variables?, operationName?}`; answer `{data, errors?}`. "
        "The schema is the base's tables as the caller sees them (introspect it, or open "
        "the base's GraphiQL page). Errors carry `extensions.code` (the REST error codes); "
        "syntax, unknown fields and the depth/cost limits answer 400. See docs/graphql.md.",
        request=dict,
        responses={200: dict, **ERRORS},
        examples=[
            OpenApiExample(
                "List",
                value={
                    "query": '{ projects(where: "(status,eq,active)", limit: 10) '
                    "{ list { _id name } pageInfo { next } } }"
                },
                request_only=True,
            )
        ],
        tags=["GraphQL"],
    )
    def post(self, request: Request, base_id: str) -> Response:
        status, body = execute.run(base_id, actor_from_request(request), request.data)
        return Response(body, status=status)
