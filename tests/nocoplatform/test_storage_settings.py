"""Where attachments are stored, from the environment (nocoplatform/env.attachments_storage).

Unit tests of the settings only: no S3 server runs here, so nothing is uploaded to one.
Whether django-storages is installed is decided per test (the optional `s3` extra)."""

import importlib.util
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from nocoplatform.env import attachments_storage
from tests.conftest import LIVE_ROOT

_find_spec = importlib.util.find_spec


@pytest.fixture
def s3_installed(monkeypatch):
    """Act as if the `s3` extra (django-storages, boto3) were installed."""
    fake = object()
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: (
            fake if name in ("storages", "boto3") else _find_spec(name, *a)
        ),
    )


@pytest.fixture
def s3_missing(monkeypatch):
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "storages" else _find_spec(name, *a),
    )


def test_local_files_by_default():
    assert attachments_storage("/srv/media", {}) == {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": "/srv/media", "base_url": None},
    }
    assert attachments_storage("/m", {"NOCO_STORAGE": "local"})["OPTIONS"] == {
        "location": "/m",
        "base_url": None,
    }


def test_any_storage_class_by_name():
    env = {"NOCO_ATTACHMENTS_STORAGE": "myapp.storage.Vault"}
    assert attachments_storage("/m", env) == {
        "BACKEND": "myapp.storage.Vault",
        "OPTIONS": {},
    }


def test_s3_with_every_setting(s3_installed):
    env = {
        "NOCO_STORAGE": "S3",
        "NOCO_S3_BUCKET": "noco-files",
        "NOCO_S3_ENDPOINT_URL": "https://minio.internal:9000",
        "NOCO_S3_REGION": "eu-west-1",
        "NOCO_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "NOCO_S3_SECRET_ACCESS_KEY": "secret",
        "NOCO_S3_PREFIX": "/tenant-a/",
        "NOCO_S3_ADDRESSING_STYLE": "path",
    }
    assert attachments_storage("/m", env) == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "noco-files",
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            "endpoint_url": "https://minio.internal:9000",
            "region_name": "eu-west-1",
            "access_key": "AKIAEXAMPLE",
            "secret_key": "secret",
            "location": "tenant-a",
            "addressing_style": "path",
        },
    }


def test_s3_with_only_a_bucket_uses_boto3s_own_credentials(s3_installed):
    options = attachments_storage("/m", {"NOCO_STORAGE": "s3", "NOCO_S3_BUCKET": "b"})[
        "OPTIONS"
    ]
    assert options == {
        "bucket_name": "b",
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
    }


@pytest.mark.parametrize(
    "env, message",
    [
        ({"NOCO_STORAGE": "s3"}, "NOCO_STORAGE=s3 needs NOCO_S3_BUCKET."),
        (
            {"NOCO_STORAGE": "s3", "NOCO_S3_BUCKET": "b", "NOCO_S3_ACCESS_KEY_ID": "k"},
            "Set both NOCO_S3_ACCESS_KEY_ID and NOCO_S3_SECRET_ACCESS_KEY",
        ),
        ({"NOCO_STORAGE": "ftp"}, "NOCO_STORAGE='ftp': use 'local'"),
        (
            {"NOCO_STORAGE": "s3", "NOCO_ATTACHMENTS_STORAGE": "x.Y"},
            "not both",
        ),
    ],
)
def test_bad_settings_are_refused(s3_installed, env, message):
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(")):
        attachments_storage("/m", env)


def test_s3_without_django_storages_says_what_to_install(s3_missing):
    with pytest.raises(ImproperlyConfigured) as info:
        attachments_storage("/m", {"NOCO_STORAGE": "s3", "NOCO_S3_BUCKET": "b"})
    assert "not installed (storages" in str(info.value)
    assert "pip install -e '.[s3]'" in str(info.value)


@pytest.mark.skipif(
    _find_spec("storages") is not None, reason="django-storages is installed here"
)
def test_the_server_does_not_start_when_s3_is_chosen_but_missing(tmp_path):
    """The error comes at start, from the settings, not at the first upload."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
        "NOCO_VAR_DIR": str(tmp_path),
        "NOCO_STORAGE": "s3",
        "NOCO_S3_BUCKET": "b",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=LIVE_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "pip install -e '.[s3]'" in done.stderr
