import os

from django.db import connection
from django.http import JsonResponse
from django.urls import path


def db(request):
    """Who this worker is logged in as, and a query only a valid login of
    the app_readers group can run."""
    with connection.cursor() as cursor:
        cursor.execute("select current_user, count(*) from items")
        user, count = cursor.fetchone()
    return JsonResponse({"user": user, "count": count, "pid": os.getpid()})


def fail(request):
    raise RuntimeError("a view failed")


urlpatterns = [path("db/", db), path("fail/", fail)]
