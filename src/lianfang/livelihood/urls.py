"""The livelihood pages (mounted at the site's root by the plugin)."""

from django.urls import path

from lianfang.livelihood import views

app_name = "livelihood"
urlpatterns = [
    path("livelihood/", views.board, name="board"),
    path("livelihood/new/", views.request_new, name="new"),
    path("livelihood/hotline/", views.hotline, name="hotline"),
    path("livelihood/packages/", views.packages, name="packages"),
    path("livelihood/qr/<str:division_code>/", views.qr, name="qr"),
    path("livelihood/<int:pk>/", views.request_detail, name="request"),
    path("livelihood/<int:pk>/accept/", views.request_accept_view, name="accept"),
    path("livelihood/<int:pk>/assign/", views.request_assign_view, name="assign"),
    path("livelihood/<int:pk>/deliver/", views.request_deliver_view, name="deliver"),
    path("livelihood/<int:pk>/close/", views.request_close_view, name="close"),
    path("r/<str:token>/", views.resident, name="resident"),
]
