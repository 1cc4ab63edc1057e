from django.urls import path

from lianfang.web import screening_views, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("lang/", views.set_language, name="set_language"),
    path("divisions/", views.division, name="divisions"),
    path("divisions/<str:code>/", views.division, name="division"),
    path("divisions/<str:code>/export.<str:fmt>", views.division_export, name="division_export"),
    path("people/", views.search, name="search"),
    path("people/<int:pk>/", views.person_detail, name="person"),
    path("people/import/", views.person_import, name="person_import"),
    path("imports/<uuid:pk>/", views.import_job, name="import_job"),
    path("imports/<uuid:pk>/rejects.csv", views.import_job_rejects, name="import_job_rejects"),
    path("audit/", views.audit_log, name="audit"),
    # Mass screening (核酸筛查)
    path("rounds/", screening_views.rounds, name="rounds"),
    path("rounds/<str:code>/", screening_views.round_detail, name="round"),
    path("rounds/<str:code>/alerts/", screening_views.round_alerts, name="round_alerts"),
    path("rounds/<str:code>/alerts/<int:pk>/ack/", screening_views.alert_ack, name="round_alert_ack"),
    path("rounds/<str:code>/close/", screening_views.round_close_view, name="round_close"),
    path("rounds/<str:code>/upload/", screening_views.round_upload, name="round_upload"),
    path("rounds/<str:code>/area/<str:division_code>/", screening_views.round_area, name="round_area"),
    path(
        "rounds/<str:code>/area/<str:division_code>/untested.<str:fmt>",
        screening_views.untested_export,
        name="round_untested_export",
    ),
    path("rounds/<str:code>/pools/<str:barcode>/", screening_views.pool, name="round_pool"),
    path("rounds/<str:code>/tasks/", screening_views.tasks, name="round_tasks"),
    path("rounds/<str:code>/tasks/<int:pk>/sample/", screening_views.task_sample, name="round_task_sample"),
    path("screening/sites/", screening_views.sites, name="screening_sites"),
    path("screening/labs/", screening_views.labs, name="screening_labs"),
]

urlpatterns.append(path("api/docs", views.api_docs, name="api_docs"))
