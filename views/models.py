"""View metadata (grid, gallery, kanban, calendar, form) arrives with the grid issue."""
