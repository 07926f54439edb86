"""examples/django/myproject/settings.py without the database (the view
under test does not query one) and with a fixed signing key."""

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SECRET_KEY = "bench-only-not-a-secret"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "django_bench.urls"
WSGI_APPLICATION = "django_bench.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DATABASES: dict[str, dict[str, str]] = {}
