"""The base pages moved to bases/pages.py, the account pages to permissions/account_pages.py.

`_base_context` stays importable here for the grid (views/grid.py) until it imports
bases.pages.base_context itself.
"""

from bases.pages import base_context

_base_context = base_context
