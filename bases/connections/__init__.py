"""Connections to user databases: settings (config), per-thread aliases and pools (aliases),
failures (failures), connection tests (checks), statement timeouts (timeouts) and frozen-server
detection (liveness)."""
