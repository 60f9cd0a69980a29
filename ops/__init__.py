"""Operating the platform: what an administrator watches (the slow-request log, docs/deploy.md)."""
