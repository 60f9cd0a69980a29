from django.urls import path

from views import (
    attachment_pages,
    form_pages,
    share_pages,
    summaries,
    toolbar,
    view_pages,
    view_tabs,
)
from views.grid import edit as grid_edit
from views.grid import expand as grid_expand
from views.grid import fields as grid_fields
from views.grid import page as grid_page
from views.realtime import rows as realtime_rows

urlpatterns = [
    # The table page, routed by view type (views/view_pages.py): the grid (views/grid/) or a gallery, kanban or calendar (views/types/).
    path(
        "bases/<str:base_id>/tables/<str:table_id>/",
        view_pages.table_page,
        name="table",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/views/<str:view_id>/",
        view_pages.table_page,
        name="table_view",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/cards",
        view_pages.view_cards,
        name="view_cards",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/move",
        view_pages.view_move,
        name="view_move",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/add",
        view_pages.view_add,
        name="view_add",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/settings",
        view_pages.view_settings,
        name="view_settings",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/grid/rows",
        grid_page.rows_window,
        name="grid_rows",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/grid/layout",
        grid_page.layout_save,
        name="grid_layout",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/grid/live",
        realtime_rows.live_rows,
        name="grid_live_rows",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/grid/count",
        grid_page.rows_count,
        name="grid_count",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/grid/cells",
        grid_edit.cells_save,
        name="grid_cells",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/grid/delete",
        grid_edit.rows_delete,
        name="grid_rows_delete",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/grid/rows/<str:record_id>/expand",
        grid_expand.row_expand,
        name="grid_row_expand",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/grid/links/<str:record_id>/<str:field_id>",
        grid_expand.link_picker,
        name="grid_link_picker",
    ),
    # The add-field / edit-field panel and a header menu's rename (views/grid/fields.py).
    path(
        "bases/<str:base_id>/tables/<str:table_id>/grid/field-panel",
        grid_fields.field_panel,
        name="grid_field_panel",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/grid/fields/<str:field_id>",
        grid_fields.field_edit,
        name="grid_field_edit",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/grid/options/<str:field_id>",
        grid_edit.option_add,
        name="grid_option_add",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/rows",
        grid_edit.row_add,
        name="row_add",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/rows/<str:record_id>/delete",
        grid_edit.row_delete,
        name="row_delete",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/cells/<str:record_id>/<str:field_id>",
        grid_edit.cell,
        name="cell",
    ),
    # View tabs (views/view_tabs.py), toolbar panels (views/toolbar.py), footer and
    # grouped grid (views/summaries.py).
    path(
        "bases/<str:base_id>/tables/<str:table_id>/views/new",
        view_tabs.view_new,
        name="view_new",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/views/reorder",
        view_tabs.view_reorder,
        name="view_reorder",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/rename",
        view_tabs.view_rename,
        name="view_rename",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/duplicate",
        view_tabs.view_duplicate,
        name="view_duplicate",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/delete",
        view_tabs.view_delete,
        name="view_delete",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/filters",
        toolbar.filter_panel,
        name="view_filters",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/sorts",
        toolbar.sort_panel,
        name="view_sorts",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/group",
        toolbar.group_panel,
        name="view_group",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/fields",
        toolbar.fields_panel,
        name="view_fields",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/footer",
        summaries.footer,
        name="view_footer",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/groups",
        summaries.groups,
        name="view_groups",
    ),
    path(
        "bases/<str:base_id>/views/<str:view_id>/groups/rows",
        summaries.group_rows,
        name="view_group_rows",
    ),
    # Public links (views/shares.py, views/share_pages.py): settings for members, and the
    # pages anyone with the link may open.
    path(
        "bases/<str:base_id>/views/<str:view_id>/share",
        share_pages.share_settings,
        name="view_share",
    ),
    path("s/<str:token>/", share_pages.shared_view, name="shared_view"),
    path("s/<str:token>/csv", share_pages.shared_view_csv, name="shared_view_csv"),
    path(
        "s/<str:token>/files/<str:ref>",
        share_pages.shared_view_file,
        name="shared_view_file",
    ),
    # Form views (views/form_view.py, views/form_pages.py): the builder, the public form and
    # its link-field search.
    path(
        "bases/<str:base_id>/views/<str:view_id>/form",
        form_pages.form_builder,
        name="form_builder",
    ),
    path("f/<str:token>/", form_pages.public_form, name="public_form"),
    path(
        "f/<str:token>/links/<str:field_id>",
        form_pages.public_form_links,
        name="public_form_links",
    ),
    # Attachment cells (bases/attachments.py, views/attachment_pages.py).
    path(
        "bases/<str:base_id>/tables/<str:table_id>/attachments/<str:record_id>/<str:field_id>",
        attachment_pages.attachments_panel,
        name="attachments",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/attachments/<str:record_id>/<str:field_id>/<str:file_id>",
        attachment_pages.attachment_file,
        name="attachment_file",
    ),
    path(
        "bases/<str:base_id>/tables/<str:table_id>/attachments/<str:record_id>/<str:field_id>/<str:file_id>/delete",
        attachment_pages.attachment_delete,
        name="attachment_delete",
    ),
]
