"""The sample Django project's settings (tests/db/test_django.py): the server from SHOP_DSN."""

import os

from psycopg.conninfo import conninfo_to_dict

_server = conninfo_to_dict(os.environ["SHOP_DSN"])

SECRET_KEY = "sample"
USE_TZ = True
INSTALLED_APPS = ["shop", "seqdoctor.django"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shopdj",
        "HOST": _server.get("host", ""),
        "PORT": _server.get("port", ""),
        "USER": _server.get("user", ""),
        "PASSWORD": _server.get("password", ""),
    }
}
