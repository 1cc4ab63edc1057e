"""The screening pages (mounted at the site's root by the plugin)."""

from django.urls import path

from lianfang.screening import views

app_name = "screening"
urlpatterns = [
    path("rounds/", views.round_list, name="rounds"),
    path("rounds/<str:code>/", views.round_detail, name="round"),
    path("rounds/<str:code>/alerts/", views.round_alerts, name="round_alerts"),
    path("rounds/<str:code>/alerts/<int:pk>/ack/", views.alert_ack, name="round_alert_ack"),
    path("rounds/<str:code>/close/", views.round_close_view, name="round_close"),
    path("rounds/<str:code>/upload/", views.round_upload, name="round_upload"),
    path("rounds/<str:code>/area/<str:division_code>/", views.round_area, name="round_area"),
    path(
        "rounds/<str:code>/area/<str:division_code>/untested.<str:fmt>",
        views.untested_export,
        name="round_untested_export",
    ),
    path("rounds/<str:code>/untested/<int:pk>/visit/", views.door_visit, name="round_door_visit"),
    path("rounds/<str:code>/pools/<str:barcode>/", views.pool, name="round_pool"),
    path("rounds/<str:code>/tasks/", views.task_list, name="round_tasks"),
    path("rounds/<str:code>/tasks/<int:pk>/sample/", views.task_sample, name="round_task_sample"),
    path("screening/sites/", views.sites, name="sites"),
    path("screening/elsewhere/", views.sampled_elsewhere, name="sampled_elsewhere"),
    path("screening/labs/", views.labs, name="labs"),
]
