import os

from django.core.wsgi import get_wsgi_application

from lianfang.config.memory import startup_freeze

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lianfang.config.settings")
application = get_wsgi_application()
startup_freeze()  # each gunicorn worker imports this module itself (no --preload)
