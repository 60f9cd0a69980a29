"""Realtime collaboration: table groups over Channels, presence, live row refreshes.

    broadcast.py  after-commit observers -> one channel-layer group per table
    hub.py        per-process fan-out: one group membership per process, not per socket
    consumer.py   the websocket consumer (one per browser tab), per-recipient filtering
    rows.py       the small HTTP endpoint the page re-fetches changed rows from
    signals.py    schema, view and access changes -> group messages

docs/realtime.md describes the message format.
"""
