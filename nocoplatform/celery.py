"""Celery app. Broker is Redis when REDIS_URL is set; the embedded default runs without one."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nocoplatform.settings.local")

app = Celery("nocoplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
