from django.urls import path

from lianfang.web import audit, import_help, views

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
    path("imports/template/<str:kind>.xlsx", import_help.template_download, name="import_template"),
    path("imports/<uuid:pk>/rejects.csv", views.import_job_rejects, name="import_job_rejects"),
    path("audit/", audit.audit_log, name="audit"),
    path("audit/export.<str:fmt>", audit.audit_export, name="audit_export"),
]

urlpatterns.append(path("api/docs", views.api_docs, name="api_docs"))
