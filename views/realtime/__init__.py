"""Realtime collaboration: table groups over Channels, presence, live row refreshes.

    broadcast.py  the after-commit subscriber of record writes -> one group per table
    hub.py        per-process fan-out: one group membership per process, not per socket
    consumer.py   the websocket consumer (one per browser tab), per-recipient filtering
    rows.py       the small HTTP endpoint the page re-fetches changed rows from
    notices.py    view and share changes (explicit calls from the views services), and the
                  field and access changes bases/ and permissions/ announce (records.meta_events)

docs/realtime.md describes the message format.
"""
