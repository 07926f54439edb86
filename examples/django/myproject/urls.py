from django.urls import path

from . import views

urlpatterns = [
    path("secrets/", views.secrets, name="secrets"),
    path("health/", views.health, name="health"),
]
