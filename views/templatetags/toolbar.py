"""Template tags for the table page's chrome: view tabs, toolbar, footer.

They compute their own context from the table page's context (`request`, `base`, `table` and,
if the page set it, `view`), so the grid page (views/grid/page.py) only has to include the partials.
"""

from django import template

register = template.Library()


@register.inclusion_tag("views/partials/view_tabs_bar.html", takes_context=True)
def view_tabs(context):
    from views.view_tabs import tabs_context

    return tabs_context(context)


@register.inclusion_tag("views/partials/toolbar_bar.html", takes_context=True)
def view_toolbar(context):
    from views.toolbar import toolbar_context

    return toolbar_context(context)


@register.inclusion_tag("views/partials/footer_bar.html", takes_context=True)
def view_footer(context):
    from views.toolbar import footer_context

    return footer_context(context)
