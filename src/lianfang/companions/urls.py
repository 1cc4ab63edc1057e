"""The companions pages (mounted at the site's root by the plugin)."""

from django.urls import path

from lianfang.companions import views

app_name = "companions"
urlpatterns = [
    path("companions/", views.runs, name="runs"),
    path("companions/runs/<uuid:run_id>/", views.run_detail, name="run"),
    path("companions/review/", views.review, name="review"),
]
