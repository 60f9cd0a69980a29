"""The activity log of each base: who changed what in it (docs/permissions.md, "Activity log").

Services record their own changes by calling `audit.log.record(...)` — schema, members and roles,
tokens, shares, webhooks, data sources — in the same meta-DB transaction as the change. Record
writes are not here: the record history (history/) holds those, per record.
"""
