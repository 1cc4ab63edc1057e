"""The tracing pages (mounted at the site's root by the plugin)."""

from django.urls import path

from lianfang.tracing import views

app_name = "tracing"
urlpatterns = [
    path("tracing/cases/", views.case_list, name="cases"),
    path("tracing/cases/<str:case_code>/", views.case_detail, name="case"),
    path("tracing/cases/<str:case_code>/trace/", views.task_detail, name="task"),
    path("tracing/contacts/", views.contact_list, name="contacts"),
    path("tracing/findings/", views.finding_list, name="findings"),
    path("tracing/chains/", views.chains, name="chains"),
]
