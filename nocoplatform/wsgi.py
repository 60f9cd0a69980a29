import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nocoplatform.settings.local")
application = get_wsgi_application()

from webhooks import dispatcher  # noqa: E402

# Embedded runner (no Redis): deliver events left in the outbox by a previous run right away.
dispatcher.start()

from nocoplatform import gctune  # noqa: E402

gctune.tune()  # last: everything loaded above is frozen out of the collector's way
