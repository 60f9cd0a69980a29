"""The one place that reads the process environment (settings modules import from here)."""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("NOCO_VAR_DIR", BASE_DIR / "var"))


def get(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def get_bool(name: str, default: bool = False) -> bool:
    value = get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def get_int(name: str, default: int) -> int:
    value = get(name)
    return default if value is None else int(value)


def get_list(name: str, default: list[str]) -> list[str]:
    value = get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def get_json_list(name: str) -> list[dict]:
    """A JSON list of objects (NOCO_JWT_ISSUERS, NOCO_OIDC_PROVIDERS); a value that is not
    one stops the start rather than silently turning a feature off."""
    import json

    from django.core.exceptions import ImproperlyConfigured

    value = get(name)
    if value is None:
        return []
    try:
        items = json.loads(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {exc}")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ImproperlyConfigured(f"{name} must be a JSON list of objects.")
    return items


def get_networks(name: str) -> list[str]:
    """A comma-separated list of IP addresses and CIDR networks, normalised ("10.0.0.1/8" is
    "10.0.0.0/8", an address is a /32 or /128). A value that is neither stops the start: a
    typo here would silently trust nobody, or the wrong machines."""
    import ipaddress

    from django.core.exceptions import ImproperlyConfigured

    networks = []
    for item in get_list(name, []):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network (CIDR)."
            )
    return networks


def lockout_parameters(items: list[str]) -> list:
    """NOCO_LOGIN_LOCKOUT_BY as django-axes' AXES_LOCKOUT_PARAMETERS: each item a name or
    names joined by `+` (counted together); only `username` and `ip_address`."""
    from django.core.exceptions import ImproperlyConfigured

    allowed = {"username", "ip_address"}
    parameters: list = []
    for item in items:
        names = [n.strip() for n in item.split("+") if n.strip()]
        if not names or not set(names) <= allowed:
            raise ImproperlyConfigured(
                f"NOCO_LOGIN_LOCKOUT_BY: {item!r}; use username, ip_address or "
                "username+ip_address, comma-separated."
            )
        parameters.append(names[0] if len(names) == 1 else names)
    if not parameters:
        raise ImproperlyConfigured(
            "NOCO_LOGIN_LOCKOUT_BY is empty: nothing would be limited."
        )
    return parameters


def persistent_secret(name: str) -> str:
    """Read secret `name` from the environment, else from (or into) a file under var/.

    The embedded default must survive restarts (sessions, encrypted credentials) without asking
    the admin to invent a key; production sets the variable instead.
    """
    value = get(name)
    if value:
        return value
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / name.lower()
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def attachments_storage(media_root: str, environ=None) -> dict:
    """The "attachments" entry of STORAGES, chosen by NOCO_STORAGE (`local` or `s3`).

    `s3` stores files in an S3-compatible bucket with django-storages (the optional extra:
    `pip install -e '.[s3]'`); selecting it without the package installed stops the start with
    a message saying so, rather than failing at the first upload. NOCO_ATTACHMENTS_STORAGE (a
    storage class path) still selects any other backend, configured by its own settings.
    """
    from django.core.exceptions import ImproperlyConfigured

    environ = os.environ if environ is None else environ

    def read(name: str) -> str | None:
        value = environ.get(name)
        return None if value in (None, "") else value

    kind = (read("NOCO_STORAGE") or "local").strip().lower()
    custom = read("NOCO_ATTACHMENTS_STORAGE")
    if kind == "local":
        if custom:
            return {"BACKEND": custom, "OPTIONS": {}}
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": media_root, "base_url": None},
        }
    if kind != "s3":
        raise ImproperlyConfigured(
            f"NOCO_STORAGE={kind!r}: use 'local' (files under NOCO_MEDIA_DIR) or 's3'."
        )
    if custom:
        raise ImproperlyConfigured(
            "Set NOCO_STORAGE=s3 or NOCO_ATTACHMENTS_STORAGE, not both."
        )
    import importlib.util

    missing = [m for m in ("storages", "boto3") if importlib.util.find_spec(m) is None]
    if missing:
        raise ImproperlyConfigured(
            "NOCO_STORAGE=s3 needs django-storages with boto3, which are not installed "
            f"({', '.join(missing)} missing): pip install -e '.[s3]'"
        )
    bucket = read("NOCO_S3_BUCKET")
    if not bucket:
        raise ImproperlyConfigured("NOCO_STORAGE=s3 needs NOCO_S3_BUCKET.")
    options = {
        "bucket_name": bucket,
        # Files are served by the platform's own access-checked view, never by bucket URLs:
        # objects stay private, and a name already taken is never overwritten.
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
    }
    for name, key in (
        ("NOCO_S3_ENDPOINT_URL", "endpoint_url"),
        ("NOCO_S3_REGION", "region_name"),
        ("NOCO_S3_ACCESS_KEY_ID", "access_key"),
        ("NOCO_S3_SECRET_ACCESS_KEY", "secret_key"),
        ("NOCO_S3_PREFIX", "location"),
        ("NOCO_S3_ADDRESSING_STYLE", "addressing_style"),
    ):
        value = read(name)
        if value:
            options[key] = value.strip("/") if key == "location" else value
    if bool(options.get("access_key")) != bool(options.get("secret_key")):
        raise ImproperlyConfigured(
            "Set both NOCO_S3_ACCESS_KEY_ID and NOCO_S3_SECRET_ACCESS_KEY, or neither "
            "(boto3's own credential chain: AWS_* variables, instance roles)."
        )
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
