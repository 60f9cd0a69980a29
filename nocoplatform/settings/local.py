"""`make run`: one process, SQLite meta DB, no Redis needed."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.get_bool("DEBUG", False)
ALLOWED_HOSTS = env.get_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "*"])
