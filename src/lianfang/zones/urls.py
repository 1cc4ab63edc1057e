"""The zones pages (mounted at the site's root by the plugin)."""

from django.urls import path

from lianfang.zones import views

app_name = "zones"
urlpatterns = [
    path("zones/", views.zone_list, name="list"),
    path("zones/map/", views.zone_map, name="map"),
    path("zones/<str:code>/", views.zone_detail, name="zone"),
    path("zones/<str:code>/notice/", views.zone_notice, name="notice"),
    path("zones/<str:code>/residents/", views.zone_residents, name="residents"),
    path("zones/<str:code>/proposals/<int:pk>/sign/", views.proposal_sign_view, name="sign"),
    path("zones/<str:code>/proposals/<int:pk>/reject/", views.proposal_reject_view, name="reject"),
]
