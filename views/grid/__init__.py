"""The grid view, one module per concern:

    cells.py    the <td>/<tr> markup of a window, from what each field type renders
    common.py   the request's table and view, columns, windows of rows, the one cell write
    page.py     the table page, row windows, counts and the saved layout
    edit.py     one cell, a pasted range, add / delete rows, a new select option
    expand.py   the expanded row and the link picker
    fields.py   the add-field panel ("+" in the header row) and the header menu's edits

Other views import what they need from the module that defines it.
"""
