"""A small Django project for test_django.py: in-process through
django.test, and served by gunicorn for the load tests."""
