"""Settings shared by every profile. Environment variables are documented in README.md."""

from datetime import timedelta

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from nocoplatform import env

BASE_DIR = env.BASE_DIR
VAR_DIR = env.VAR_DIR

SECRET_KEY = env.persistent_secret("NOCO_SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env.get_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.get_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "channels",
    "guardian",
    "bases",
    "records",  # the change event of record writes; its subscribers follow
    "permissions",
    "views",
    "webhooks",
    "history",
    "imports",  # CSV imports into tables (docs/import-export.md)
    "axes",  # sign-in limits (below)
    "corsheaders",  # cross-origin API calls (below, docs/integration.md)
    "ops",  # the slow-request log (docs/deploy.md)
    "audit",  # each base's activity log (docs/permissions.md)
]

MIDDLEWARE = [
    # First: times the whole request; records those over NOCO_SLOW_REQUEST_MS (ops/slowlog.py).
    "ops.slowlog.SlowRequestMiddleware",
    "nocoplatform.clientip.ForwardedProtoMiddleware",  # before anything asks is_secure()
    # Before the API fast path and authentication: a CORS preflight (OPTIONS, no credentials)
    # is answered here, and every API answer, a 401 included, gets its CORS headers.
    "nocoplatform.cors.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Bodies over their endpoint's limit: 413 before anything reads them (limits.py).
    "nocoplatform.limits.BodyLimitMiddleware",
    "bases.changes.ClientIdMiddleware",  # X-Client-Id: realtime skips the tab a write came from
    "nocoplatform.fastpath.ApiTokenFastPath",
    "nocoplatform.csp.ContentSecurityPolicyMiddleware",  # after the API fast path: pages
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "permissions.middleware.ActorMiddleware",  # request.actor, resolved on first use
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "nocoplatform.errors.DomainErrorMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the 429 page
]

ROOT_URLCONF = "nocoplatform.urls"
ASGI_APPLICATION = "nocoplatform.asgi.application"
WSGI_APPLICATION = "nocoplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "views.context.platform",
            ],
        },
    }
]

# The meta DB: users, bases, tables, fields, views, roles. SQLite file unless DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        env.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'meta.sqlite3'}"),
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets readers and the one writer work at once; IMMEDIATE avoids upgrade deadlocks.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Under ASGI every request runs in a new thread, so persistent per-thread connections are
    # never reused: pool them instead (psycopg's pool, Django 5.1+).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": 16,
        "timeout": 10,
    }
    # Django's own cursors bind client-side and never prepare; this lets the API token query
    # (permissions/auth.py), which asks for it, run as a prepared statement. Behind PgBouncer in
    # transaction mode older than 1.21, set NOCO_PG_PREPARE=false.
    if env.get("NOCO_PG_PREPARE", "true").lower() != "false":
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out sign-in before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
# Only the npm packages the pages load are served (as static/npm/<package>/...), not all of
# node_modules: nothing else from there is public, and whitenoise indexes far fewer files.
# GraphiQL (the base's GraphQL page) needs React and ReactDOM as globals: their UMD builds;
# dagre lays out the ERD page.
NPM_STATIC_PACKAGES = [
    "htmx.org",
    "swagger-ui-dist",
    "graphiql",
    "react",
    "react-dom",
    "@dagrejs/dagre",
]
STATICFILES_DIRS = [
    BASE_DIR / "static",
    *[
        (f"npm/{name}", BASE_DIR / "node_modules" / name)
        for name in NPM_STATIC_PACKAGES
    ],
]
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer JWTs of NOCO_JWT_ISSUERS; any other bearer value is an API token.
        "permissions.jwt_auth.ExternalJwtAuthentication",
        "permissions.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["nocoplatform.api.OrjsonRenderer"],
    "DEFAULT_PARSER_CLASSES": ["nocoplatform.api.OrjsonParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "nocoplatform.api.JsonOnly",
    "EXCEPTION_HANDLER": "nocoplatform.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "nocoplatform meta API",
    "DESCRIPTION": "Bases, data sources, tables, columns and API tokens.",
    "VERSION": "2",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Realtime (views/realtime/): in-memory for one process; with REDIS_URL, channels_redis so that
# several web processes share the table groups (README, "Realtime").
# Several installations may share one Redis: every key of theirs (channel layer, Celery queues)
# starts with this prefix.
NOCO_REDIS_PREFIX = env.get("NOCO_CHANNELS_PREFIX", "noco")
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
if env.get("REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8's default 5 s socket timeout equals channels_redis's 5 s blocking
                # pop: an idle socket's read would time out and kill its consumer.
                "hosts": [{"address": env.get("REDIS_URL"), "socket_timeout": 30}],
                "prefix": NOCO_REDIS_PREFIX,
                # All of a process's sockets share one Redis queue: room for bursts.
                "capacity": 1000,
            },
        }
    }

# Seconds after which the people on a table of a web process that stopped answering (killed,
# its machine lost) leave the other processes' presence; each process sends a heartbeat per
# table every third of it (views/realtime/hub.py, "liveness"; docs/realtime.md).
NOCO_PRESENCE_EXPIRE = env.get_int("NOCO_PRESENCE_EXPIRE", 15)

CELERY_BROKER_URL = env.get("REDIS_URL") or "memory://"
CELERY_TASK_ALWAYS_EAGER = False

# --- nocoplatform's own settings -------------------------------------------------------------
# API tokens' answers cached per process on a PostgreSQL meta DB, emptied by NOTIFY on every
# change to what they depend on (permissions/authcache.py).
NOCO_AUTH_CACHE = env.get_bool("NOCO_AUTH_CACHE", True)
NOCO_SIGNUP_ENABLED = env.get_bool("NOCO_SIGNUP_ENABLED", True)
# Key for credentials at rest (Fernet, derived by SHA-256). Defaults to one derived from SECRET_KEY;
# set it explicitly in production so rotating SECRET_KEY does not make stored passwords unreadable.
NOCO_ENCRYPTION_KEY = env.get("NOCO_ENCRYPTION_KEY") or SECRET_KEY
# Built-in store for bases created from scratch: a SQLite file per base under this folder, or,
# with NOCO_STORE_URL=postgresql://..., one PostgreSQL schema per base in that database.
NOCO_STORE_DIR = VAR_DIR / "store"
NOCO_STORE_URL = env.get("NOCO_STORE_URL")
NOCO_CONNECT_TIMEOUT = env.get_int("NOCO_CONNECT_TIMEOUT", 5)
# After a base's database fails to answer, its requests fail fast (503) for this many seconds
# before the next attempt, so one dead database cannot tie up every worker.
NOCO_UNAVAILABLE_RETRY_AFTER = env.get_int("NOCO_UNAVAILABLE_RETRY_AFTER", 10)
# A request busy on a user database for this many seconds makes a watchdog try a new
# connection to that server, which must answer within NOCO_FREEZE_PROBE_TIMEOUT: a server that
# does not is frozen, and its busy requests are cut and answered 503 (bases/connections/liveness.py).
# 0 turns the watchdog off.
NOCO_FREEZE_PROBE_AFTER = float(env.get("NOCO_FREEZE_PROBE_AFTER", "1"))
NOCO_FREEZE_PROBE_TIMEOUT = float(env.get("NOCO_FREEZE_PROBE_TIMEOUT", "3"))
# Folders from which `sqlite:///` external databases may be opened (by anyone, admins too).
# Empty: site admins anywhere except the platform's own files (meta DB and store), others not
# at all (bases/netpolicy.py).
NOCO_SQLITE_ALLOWED_DIRS = env.get_list("NOCO_SQLITE_ALLOWED_DIRS", [])
# Let every user connect databases on loopback, private, link-local and CGNAT addresses (the
# server's own network). Off: only site admins, and sources an admin saved (docs/security.md).
# Cloud-metadata, multicast and unspecified addresses stay refused either way.
NOCO_SOURCES_ALLOW_PRIVATE = env.get_bool("NOCO_SOURCES_ALLOW_PRIVATE", False)
# Seconds any statement on a user database (external or built-in store) may run before it is
# stopped and answered 504 STATEMENT_TIMEOUT; schema edits (DDL, which may rewrite a big table)
# get the second, longer limit. 0: no limit (docs/security.md, "Statement timeouts").
NOCO_STATEMENT_TIMEOUT = float(env.get("NOCO_STATEMENT_TIMEOUT", "30"))
NOCO_SCHEMA_STATEMENT_TIMEOUT = float(env.get("NOCO_SCHEMA_STATEMENT_TIMEOUT", "300"))
# Connection attempts (test, connect, change of a data source) per user and minute, for users
# who are not site admins; 0 for no limit.
NOCO_CONNECTION_TESTS_PER_MINUTE = env.get_int("NOCO_CONNECTION_TESTS_PER_MINUTE", 10)

# Content-Security-Policy of every page (nocoplatform/csp.py; docs/security.md, "Browser
# hardening"): scripts, styles and everything else from this site only, nothing inline, no eval,
# never framed. Images may also come from anywhere (https:, http:) unless
# NOCO_CSP_EXTERNAL_IMAGES=false: a URL field can be a gallery card's cover, and a public form
# can show a cover image by URL.
NOCO_CSP_EXTERNAL_IMAGES = env.get_bool("NOCO_CSP_EXTERNAL_IMAGES", True)
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": [
        "'self'",
        "data:",
        "blob:",
        *(["https:", "http:"] if NOCO_CSP_EXTERNAL_IMAGES else []),
    ],
    "connect-src": ["'self'"],  # + this host's ws:// and wss:// (the realtime socket)
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],  # as X-Frame-Options: DENY; shared views are links
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.get("LOG_LEVEL", "INFO")},
}
# Records API: largest page, and up to how many rows a list's totalRows is counted exactly
# (beyond it: the planner's estimate, flagged `totalRowsEstimated`; /count is always exact).
NOCO_MAX_PAGE_SIZE = env.get_int("NOCO_MAX_PAGE_SIZE", 1000)
NOCO_EXACT_COUNT_LIMIT = env.get_int("NOCO_EXACT_COUNT_LIMIT", 10_000)

# Request and value limits (docs/security.md). Bodies over NOCO_MAX_BODY_SIZE bytes are refused
# (413) before they are read; upload endpoints take NOCO_ATTACHMENT_MAX_CELL_SIZE plus 1 MiB
# (nocoplatform/limits.py). 10 MiB carries a bulk write of 1000 rows of about 10 KB each.
NOCO_MAX_BODY_SIZE = env.get_int("NOCO_MAX_BODY_SIZE", 10 * 1024 * 1024)
# Most characters in one text, JSON or attachment-list value (a column's declared length, when
# smaller, is the limit instead: bases/value_limits.py).
NOCO_MAX_TEXT_LENGTH = env.get_int("NOCO_MAX_TEXT_LENGTH", 1_000_000)

# --- CORS: browser apps on other origins calling the API (docs/integration.md) -------------
# NOCO_CORS_ORIGINS: comma-separated origins (https://app.example.com) allowed to call /api/;
# a base may list more for its own paths, without credentials (bases/cors.py). Answers to
# the installation's origins allow credentials (cookies),
# answers to any other origin carry no CORS header at all. `*` allows every origin, and then
# never with credentials.
NOCO_CORS_ORIGINS = env.get_list("NOCO_CORS_ORIGINS", [])
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_ALL_ORIGINS = "*" in NOCO_CORS_ORIGINS
CORS_ALLOWED_ORIGINS = [o for o in NOCO_CORS_ORIGINS if o != "*"]
CORS_ALLOW_CREDENTIALS = not CORS_ALLOW_ALL_ORIGINS
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "xc-token",
    "x-client-id",
    "idempotency-key",
    "x-csrftoken",
    "x-requested-with",
]
CORS_EXPOSE_HEADERS = ["etag", "retry-after", "x-request-id"]
CORS_PREFLIGHT_MAX_AGE = env.get_int("NOCO_CORS_MAX_AGE", 600)

# --- Bearer JWTs from external identity providers (docs/integration.md) ---------------------
# NOCO_JWT_ISSUERS: a JSON list, one object per provider: {"issuer", "audience", "jwks_url",
# "algorithms", "user_claim": "sub" | "email", "create_users", "leeway"}
# (permissions/jwt_auth.py). Only asymmetric algorithms; the keys come from jwks_url.
NOCO_JWT_ISSUERS = env.get_json_list("NOCO_JWT_ISSUERS")
# Fetching an issuer's keys: timeout, how long they are kept, and how often at most a token
# signed by a key not in them makes us fetch them again (key rotation), in seconds.
NOCO_JWT_JWKS_TIMEOUT = float(env.get("NOCO_JWT_JWKS_TIMEOUT", "3"))
NOCO_JWT_JWKS_TTL = env.get_int("NOCO_JWT_JWKS_TTL", 3600)
NOCO_JWT_JWKS_REFETCH_INTERVAL = env.get_int("NOCO_JWT_JWKS_REFETCH_INTERVAL", 30)

# --- Sign in with OpenID Connect (docs/integration.md) ---------------------------------------
# NOCO_OIDC_PROVIDERS: a JSON list, one object per provider: {"name", "label", "issuer",
# "client_id", "client_secret", "allowed_domains", "default_base", "default_role",
# "create_users"} (permissions/oidc.py). The provider's redirect URI to register is
# https://<this host>/login/oidc/<name>/callback/.
NOCO_OIDC_PROVIDERS = env.get_json_list("NOCO_OIDC_PROVIDERS")
NOCO_OIDC_TIMEOUT = float(env.get("NOCO_OIDC_TIMEOUT", "5"))

# --- webhooks (README "Webhooks") ------------------------------------------------------------
# Who delivers: "celery" (workers on the Redis broker) or "embedded" (a background thread in
# the web process polls the outbox). Default: celery when REDIS_URL is set, else embedded.
NOCO_WEBHOOKS_RUNNER = env.get(
    "NOCO_WEBHOOKS_RUNNER", "celery" if env.get("REDIS_URL") else "embedded"
)
NOCO_WEBHOOKS_TIMEOUT = float(env.get("NOCO_WEBHOOKS_TIMEOUT", "10"))
NOCO_WEBHOOKS_MAX_ATTEMPTS = env.get_int("NOCO_WEBHOOKS_MAX_ATTEMPTS", 8)
# Retry n waits about BACKOFF_BASE * 2**(n-1) seconds (half of it random), at most BACKOFF_MAX.
NOCO_WEBHOOKS_BACKOFF_BASE = float(env.get("NOCO_WEBHOOKS_BACKOFF_BASE", "5"))
NOCO_WEBHOOKS_BACKOFF_MAX = float(env.get("NOCO_WEBHOOKS_BACKOFF_MAX", "3600"))
# A webhook whose last N events all failed (every attempt used) is switched off.
NOCO_WEBHOOKS_DISABLE_AFTER = env.get_int("NOCO_WEBHOOKS_DISABLE_AFTER", 10)
# Most rows in one call of a batching webhook.
NOCO_WEBHOOKS_BATCH_LIMIT = env.get_int("NOCO_WEBHOOKS_BATCH_LIMIT", 100)
# Delivery log retention: entries older than this many days, and beyond this many per webhook.
NOCO_WEBHOOKS_LOG_DAYS = env.get_int("NOCO_WEBHOOKS_LOG_DAYS", 14)
NOCO_WEBHOOKS_LOG_MAX = env.get_int("NOCO_WEBHOOKS_LOG_MAX", 1000)
# Record history (history/): entries older than this many days are pruned hourly and by
# `manage.py prune_history`; 0 keeps them forever.
NOCO_HISTORY_DAYS = env.get_int("NOCO_HISTORY_DAYS", 90)
# Deleted rows (history/trash.py) stay restorable this many days; pruned with the history.
NOCO_TRASH_DAYS = env.get_int("NOCO_TRASH_DAYS", 30)
# Largest CSV file an import takes, bytes (bounded by the upload limit, nocoplatform/limits.py).
NOCO_IMPORT_MAX_SIZE = env.get_int("NOCO_IMPORT_MAX_SIZE", 50 * 1024 * 1024)
# Import jobs (imports/prune.py): finished or never-started jobs, their uploads and refused-row
# CSVs are deleted after this many days, hourly and by `manage.py prune_imports`; 0 keeps them.
NOCO_IMPORT_KEEP_DAYS = env.get_int("NOCO_IMPORT_KEEP_DAYS", 7)
# A view export from the page (views/export_pages.py) of more rows than this (the view's count,
# or its estimate past NOCO_EXACT_COUNT_LIMIT) runs as a background job with progress
# (imports/exports.py); smaller ones download directly. 0: always a job.
NOCO_EXPORT_JOB_ROWS = env.get_int("NOCO_EXPORT_JOB_ROWS", 10_000)
# A running import or export refreshes its heartbeat every few seconds; one silent for longer
# than this lost its process (a restart, a crash, a killed worker) and is taken over by the
# recovery sweep (imports/recovery.py, docs/import-export.md): cleaned up, queued again once,
# else failed. Queued jobs no runner took for this long are started again.
NOCO_JOB_STALE_SECONDS = env.get_int("NOCO_JOB_STALE_SECONDS", 120)
# How often the sweeper (Celery beat) queues the events no message will bring to a worker:
# retries come due, a killed worker's, those Redis could not take. Bounds retry precision and
# the recovery time after a worker dies (README, "Webhooks").
# Read replicas (bases/connections/replicas.py, docs/deploy.md): a replica more than this many
# seconds behind is skipped (and a user reads from the primary this long after writing);
# each process checks each replica's lag at most this often.
NOCO_REPLICA_MAX_LAG = float(env.get("NOCO_REPLICA_MAX_LAG", "5"))
NOCO_REPLICA_CHECK_INTERVAL = float(env.get("NOCO_REPLICA_CHECK_INTERVAL", "1"))
# The shared metadata cache (bases/metacache.py): seconds an entry lives in Redis, and seconds
# the shared level is skipped after Redis failed to answer.
NOCO_META_CACHE_TTL = env.get_int("NOCO_META_CACHE_TTL", 3600)
NOCO_META_CACHE_RETRY = float(env.get("NOCO_META_CACHE_RETRY", "10"))
# Each base's activity log (audit/): entries are kept this many days (0: for ever).
NOCO_ACTIVITY_DAYS = env.get_int("NOCO_ACTIVITY_DAYS", 365)
# The slow-request log (ops/slowlog.py, docs/deploy.md): requests taking at least this many
# milliseconds are recorded (0: none), and kept this many days (0: for ever).
NOCO_SLOW_REQUEST_MS = env.get_int("NOCO_SLOW_REQUEST_MS", 500)
NOCO_SLOW_REQUEST_RETENTION_DAYS = env.get_int("NOCO_SLOW_REQUEST_RETENTION_DAYS", 30)
NOCO_WEBHOOKS_SWEEP_INTERVAL = float(env.get("NOCO_WEBHOOKS_SWEEP_INTERVAL", "5"))
# Allow URLs on private, loopback, link-local and CGNAT addresses (self-hosted receivers).
# Cloud-metadata and multicast addresses stay refused either way.
NOCO_WEBHOOKS_ALLOW_PRIVATE = env.get_bool("NOCO_WEBHOOKS_ALLOW_PRIVATE", False)

# --- client addresses and sign-in limits (docs/security.md) -----------------------------------
# Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs and CIDRs); empty: none,
# every peer is the client. nocoplatform/clientip.py; `make run` passes it to uvicorn.
NOCO_TRUSTED_PROXIES = env.get_networks("NOCO_TRUSTED_PROXIES")
if NOCO_TRUSTED_PROXIES:
    # Only a trusted proxy's header reaches Django (clientip.ForwardedProtoMiddleware).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Wrong passwords (login page, admin login, password change) allowed within the lock time,
# per account and per address; then signing in waits until the oldest ones are that old.
NOCO_LOGIN_FAILURE_LIMIT = env.get_int("NOCO_LOGIN_FAILURE_LIMIT", 10)
if NOCO_LOGIN_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("NOCO_LOGIN_FAILURE_LIMIT must be 1 or more.")
NOCO_LOGIN_LOCKOUT_SECONDS = env.get_int("NOCO_LOGIN_LOCKOUT_SECONDS", 15 * 60)
# What is counted: `username` (one account, from anywhere), `ip_address` (one address, any
# account), or `username+ip_address` (one account from one address); a lock by any of them holds.
NOCO_LOGIN_LOCKOUT_BY = env.get_list(
    "NOCO_LOGIN_LOCKOUT_BY", ["username", "ip_address"]
)
AXES_FAILURE_LIMIT = NOCO_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=NOCO_LOGIN_LOCKOUT_SECONDS)
AXES_LOCKOUT_PARAMETERS = env.lockout_parameters(NOCO_LOGIN_LOCKOUT_BY)
AXES_CLIENT_IP_CALLABLE = "nocoplatform.clientip.client_ip"
AXES_USERNAME_CALLABLE = "permissions.accounts.lockout_username"
AXES_LOCKOUT_CALLABLE = "permissions.accounts.lockout_response"
# A success must not wipe an address's count of guesses at other accounts, and tries made
# while locked neither count nor push the end of the lock further out.
AXES_RESET_ON_SUCCESS = False
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Failures are kept (until the lock time passes); successful logins are not logged (a table
# that would only grow).
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Public links (views/shares.py): shared views and public forms.
# Wrong share passwords allowed per address and link, within this many seconds.
NOCO_SHARE_PASSWORD_ATTEMPTS = env.get_int("NOCO_SHARE_PASSWORD_ATTEMPTS", 10)
NOCO_SHARE_PASSWORD_WINDOW = env.get_int("NOCO_SHARE_PASSWORD_WINDOW", 900)
# How long a visitor stays signed in to a password-protected link (signed cookie), seconds.
NOCO_SHARE_COOKIE_AGE = env.get_int("NOCO_SHARE_COOKIE_AGE", 7 * 24 * 3600)
# Public form submissions allowed per address and form, within this many seconds.
NOCO_FORM_RATE_LIMIT = env.get_int("NOCO_FORM_RATE_LIMIT", 20)
NOCO_FORM_RATE_WINDOW = env.get_int("NOCO_FORM_RATE_WINDOW", 3600)

# Columns exchanged outside the platform (bases/schema_guard.py): on PostgreSQL and MySQL a
# table's live columns are compared with its metadata before a write at most once per this
# many seconds per process (0: before every write). SQLite is checked whenever its schema moved.
NOCO_SCHEMA_CHECK_INTERVAL = float(env.get("NOCO_SCHEMA_CHECK_INTERVAL", "1"))

# How long an Idempotency-Key of a records POST is remembered (bases/idempotency.py), seconds.
NOCO_IDEMPOTENCY_TTL = env.get_int("NOCO_IDEMPOTENCY_TTL", 24 * 3600)

# Attachment files (bases/attachments.py): limits, and where they are stored. The
# "attachments" storage is local files under var/media by default, an S3-compatible bucket
# with NOCO_STORAGE=s3 (env.attachments_storage), or any Django storage class named by
# NOCO_ATTACHMENTS_STORAGE.
NOCO_ATTACHMENT_MAX_SIZE = env.get_int("NOCO_ATTACHMENT_MAX_SIZE", 10 * 1024 * 1024)
NOCO_ATTACHMENT_MAX_FILES = env.get_int("NOCO_ATTACHMENT_MAX_FILES", 10)
NOCO_ATTACHMENT_MAX_CELL_SIZE = env.get_int(
    "NOCO_ATTACHMENT_MAX_CELL_SIZE", 50 * 1024 * 1024
)
# Content types accepted (as the server decides them from the bytes, bases/attachments.sniff;
# `image/*` wildcards); empty: any file.
NOCO_ATTACHMENT_ALLOWED_TYPES = env.get_list("NOCO_ATTACHMENT_ALLOWED_TYPES", [])
# Uploaded images with more pixels than this are refused, IMAGE_TOO_LARGE (bases/thumbnails.py):
# decoding them would take too much memory (a decompression bomb is a small file with a huge
# canvas).
NOCO_ATTACHMENT_THUMB_MAX_PIXELS = env.get_int(
    "NOCO_ATTACHMENT_THUMB_MAX_PIXELS", 50_000_000
)
MEDIA_ROOT = env.get("NOCO_MEDIA_DIR") or str(VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Local files (default) or an S3-compatible bucket: NOCO_STORAGE, see env.py.
    "attachments": env.attachments_storage(MEDIA_ROOT),
}
# Uploads larger than this go to a temporary file rather than memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# request.body and form fields (not files): the body limit, so that one limit holds for pages
# and API alike (a larger body never gets this far: nocoplatform/limits.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = NOCO_MAX_BODY_SIZE

# --- Celery (README "Webhooks", "Production profile") ---------------------------------------
# A message is acknowledged only once its task has run, and a worker takes one message per
# thread: a worker killed mid-delivery leaves every message it held unacknowledged in Redis —
# none sits prefetched in its memory, unstarted and forgotten. Each one it held is also claimed
# in the outbox, so the sweeper hands it out again as soon as the claim's lease runs out.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# On a lost broker connection let running deliveries finish (their outcome goes to the meta DB;
# the message comes back and finds the event delivered) rather than cancel them mid-call.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged message older than this belongs to a dead worker: Redis hands it out
    # again (checked every 5 s). It must outlast one attempt (timeout + 5 s lease); tasks that
    # run longer must opt out of acks_late, or they would run twice.
    "visibility_timeout": int(NOCO_WEBHOOKS_TIMEOUT) + 10,
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
    # A hung Redis (accepting connections, answering nothing) must not hold a publish or a
    # worker forever; the web process publishes from a background thread anyway.
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
    "socket_keepalive": True,
    # Queues of their own: another installation's worker on the same Redis would take this
    # one's messages (and find no such event in its meta DB).
    "global_keyprefix": f"{NOCO_REDIS_PREFIX}:",
}
# Publishing retries once, quickly: an event that cannot be queued stays in the outbox,
# marked unpublished, and the sweeper queues it once Redis answers again.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE = {
    "webhooks-sweep": {
        "task": "webhooks.tasks.sweep",
        # No expiry: behind a backlog a sweep runs late, but it runs (sweeps queued while no
        # worker ran are cheap: the first re-queues, the rest find nothing to do).
        "schedule": NOCO_WEBHOOKS_SWEEP_INTERVAL,
    },
    # Imports and exports whose process ended mid-run (imports/recovery.py).
    "imports-recover": {
        "task": "imports.tasks.recover",
        "schedule": max(1.0, min(30.0, NOCO_JOB_STALE_SECONDS / 4)),
    },
}

# GraphQL per base (docs/graphql.md): queries nesting deeper, or able to read more values
# (each list multiplies its fields by its limit), are refused before they run.
NOCO_GRAPHQL_MAX_DEPTH = env.get_int("NOCO_GRAPHQL_MAX_DEPTH", 10)
NOCO_GRAPHQL_MAX_COST = env.get_int("NOCO_GRAPHQL_MAX_COST", 50_000)
