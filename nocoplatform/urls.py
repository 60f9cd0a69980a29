from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView

from audit import api as audit_api
from bases import api as bases_api
from bases import graphql_api, records_api
from history import api as history_api
from imports import api as imports_api
from imports import export_api, newtable_api
from nocoplatform.limits import accepts_uploads
from permissions import api as tokens_api
from permissions import auth_api
from views import api as views_api
from webhooks import api as hooks_api

meta = [
    path("bases/", bases_api.BaseListApi.as_view(), name="api-bases"),
    path("bases/<str:base_id>", bases_api.BaseDetailApi.as_view(), name="api-base"),
    path(
        "bases/<str:base_id>/activity",
        audit_api.ActivityApi.as_view(),
        name="api-base-activity",
    ),
    path(
        "bases/<str:base_id>/sources",
        bases_api.SourceListApi.as_view(),
        name="api-sources",
    ),
    path(
        "bases/<str:base_id>/sources/<str:source_id>",
        bases_api.SourceDetailApi.as_view(),
        name="api-source",
    ),
    path(
        "bases/<str:base_id>/meta-diff",
        bases_api.MetaDiffApi.as_view(),
        name="api-meta-diff",
    ),
    path(
        "bases/<str:base_id>/tables",
        bases_api.TableListApi.as_view(),
        name="api-tables",
    ),
    path(
        "bases/<str:base_id>/import",
        accepts_uploads(newtable_api.NewTableImportApi.as_view()),
        name="api-base-import",
    ),
    path(
        "bases/<str:base_id>/import/<str:job_id>",
        newtable_api.NewTableImportJobApi.as_view(),
        name="api-base-import-job",
    ),
    path(
        "bases/<str:base_id>/import/<str:job_id>/start",
        newtable_api.NewTableImportStartApi.as_view(),
        name="api-base-import-start",
    ),
    path(
        "bases/<str:base_id>/import/<str:job_id>/cancel",
        newtable_api.NewTableImportCancelApi.as_view(),
        name="api-base-import-cancel",
    ),
    path("tables/<str:table_id>", bases_api.TableDetailApi.as_view(), name="api-table"),
    path(
        "tables/<str:table_id>/columns",
        bases_api.ColumnListApi.as_view(),
        name="api-columns",
    ),
    path(
        "columns/<str:column_id>",
        bases_api.ColumnDetailApi.as_view(),
        name="api-column",
    ),
    path(
        "bases/<str:base_id>/swagger.json",
        bases_api.BaseSwaggerApi.as_view(),
        name="api-base-swagger",
    ),
    path(
        "connection/test",
        bases_api.ConnectionTestApi.as_view(),
        name="api-connection-test",
    ),
    path(
        "tables/<str:table_id>/views", views_api.ViewListApi.as_view(), name="api-views"
    ),
    path(
        "tables/<str:table_id>/grids",
        views_api.GridCreateApi.as_view(),
        name="api-grids",
    ),
    path("views/<str:view_id>", views_api.ViewDetailApi.as_view(), name="api-view"),
    path(
        "bases/<str:base_id>/users",
        tokens_api.MemberListApi.as_view(),
        name="api-members",
    ),
    path(
        "bases/<str:base_id>/users/<int:user_id>",
        tokens_api.MemberDetailApi.as_view(),
        name="api-member",
    ),
    path(
        "tables/<str:table_id>/roles",
        tokens_api.TableRoleListApi.as_view(),
        name="api-table-roles",
    ),
    path(
        "tables/<str:table_id>/roles/<int:user_id>",
        tokens_api.TableRoleDetailApi.as_view(),
        name="api-table-role",
    ),
    path(
        "columns/<str:column_id>/permissions",
        tokens_api.FieldRuleApi.as_view(),
        name="api-field-rule",
    ),
    path(
        "comments/<int:comment_id>",
        tokens_api.CommentDetailApi.as_view(),
        name="api-comment",
    ),
    path(
        "tables/<str:table_id>/hooks", hooks_api.HookListApi.as_view(), name="api-hooks"
    ),
    path("hooks/<str:hook_id>", hooks_api.HookDetailApi.as_view(), name="api-hook"),
    path(
        "hooks/<str:hook_id>/test",
        hooks_api.HookTestApi.as_view(),
        name="api-hook-test",
    ),
    path(
        "hooks/<str:hook_id>/secret",
        hooks_api.HookSecretApi.as_view(),
        name="api-hook-secret",
    ),
    path(
        "hooks/<str:hook_id>/logs",
        hooks_api.HookLogsApi.as_view(),
        name="api-hook-logs",
    ),
    path(
        "hooks/<str:hook_id>/logs/<int:log_id>/resend",
        hooks_api.HookResendApi.as_view(),
        name="api-hook-resend",
    ),
    path(
        "hooks/<str:hook_id>/trigger",
        hooks_api.HookTriggerApi.as_view(),
        name="api-hook-trigger",
    ),
    path("tokens", tokens_api.TokenListApi.as_view(), name="api-tokens"),
    path(
        "tokens/<int:token_id>", tokens_api.TokenDetailApi.as_view(), name="api-token"
    ),
]

urlpatterns = [
    path("api/v2/meta/", include(meta)),
    # NocoDB clients call this path without the trailing slash; same view, kept out of the docs.
    path("api/v2/meta/bases", bases_api.BaseListAliasApi.as_view()),
    path(
        "api/v2/tables/<str:table_id>/records",
        records_api.RecordsApi.as_view(),
        name="api-records",
    ),
    path(
        "api/v2/tables/<str:table_id>/records/count",
        records_api.RecordCountApi.as_view(),
        name="api-records-count",
    ),
    path(
        "api/v2/tables/<str:table_id>/export",
        records_api.RecordsExportApi.as_view(),
        name="api-records-export",
    ),
    # The same export as a background job with progress (imports/export_api.py).
    path(
        "api/v2/tables/<str:table_id>/export/jobs",
        export_api.ExportJobsApi.as_view(),
        name="api-export-jobs",
    ),
    path(
        "api/v2/tables/<str:table_id>/export/jobs/<str:job_id>",
        export_api.ExportJobApi.as_view(),
        name="api-export-job",
    ),
    path(
        "api/v2/tables/<str:table_id>/export/jobs/<str:job_id>/cancel",
        export_api.ExportJobCancelApi.as_view(),
        name="api-export-job-cancel",
    ),
    path(
        "api/v2/tables/<str:table_id>/export/jobs/<str:job_id>/file",
        export_api.ExportJobFileApi.as_view(),
        name="api-export-job-file",
    ),
    path(
        "api/v2/tables/<str:table_id>/records/<str:record_id>",
        records_api.RecordApi.as_view(),
        name="api-record",
    ),
    path(
        "api/v2/tables/<str:table_id>/records/<str:record_id>/comments",
        tokens_api.CommentListApi.as_view(),
        name="api-comments",
    ),
    path(
        "api/v2/tables/<str:table_id>/records/<str:record_id>/history",
        history_api.RecordHistoryApi.as_view(),
        name="api-record-history",
    ),
    path(
        "api/v2/tables/<str:table_id>/import",
        accepts_uploads(imports_api.ImportApi.as_view()),
        name="api-import",
    ),
    path(
        "api/v2/tables/<str:table_id>/import/<str:job_id>",
        imports_api.ImportJobApi.as_view(),
        name="api-import-job",
    ),
    path(
        "api/v2/tables/<str:table_id>/import/<str:job_id>/start",
        imports_api.ImportJobStartApi.as_view(),
        name="api-import-job-start",
    ),
    path(
        "api/v2/tables/<str:table_id>/import/<str:job_id>/cancel",
        imports_api.ImportJobCancelApi.as_view(),
        name="api-import-job-cancel",
    ),
    path(
        "api/v2/tables/<str:table_id>/import/<str:job_id>/refused.csv",
        imports_api.ImportJobRefusedApi.as_view(),
        name="api-import-job-refused",
    ),
    path(
        "api/v2/tables/<str:table_id>/trash",
        history_api.TrashApi.as_view(),
        name="api-trash",
    ),
    path(
        "api/v2/tables/<str:table_id>/trash/restore",
        history_api.TrashRestoreApi.as_view(),
        name="api-trash-restore",
    ),
    path(
        "api/v2/tables/<str:table_id>/links/<str:link_field_id>/records/<str:record_id>",
        records_api.LinksApi.as_view(),
        name="api-links",
    ),
    path(
        "api/v2/bases/<str:base_id>/graphql",
        graphql_api.GraphqlApi.as_view(),
        name="api-graphql",
    ),
    path(
        "api/v2/auth/providers",
        auth_api.AuthProvidersApi.as_view(),
        name="api-auth-providers",
    ),
    path("api/v2/auth/me", auth_api.MeApi.as_view(), name="api-auth-me"),
    path(
        "api/v2/meta/openapi.json", SpectacularJSONAPIView.as_view(), name="api-schema"
    ),
    path("admin/", admin.site.urls),
    path("", include("permissions.urls")),
    path("", include("history.urls")),
    path("", include("imports.urls")),
    path("", include("webhooks.urls")),
    path("", include("audit.urls")),
    path("", include("bases.urls")),
    path("", include("views.urls")),
]
