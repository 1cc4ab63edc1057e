"""The custody pages (mounted at the site's root by the plugin)."""

from django.urls import path

from lianfang.custody import views

app_name = "custody"
urlpatterns = [
    path("custody/transfers/", views.transfer_list, name="transfers"),
    path("custody/transfers/new/", views.transfer_new, name="transfer_new"),
    path("custody/transfers/<int:order_pk>/", views.transfer_detail, name="transfer"),
    path("custody/transfers/<int:order_pk>/step/", views.transfer_step, name="transfer_step"),
    path("custody/places/", views.place_list, name="places"),
    path("custody/places/<int:place_pk>/", views.place_detail, name="place"),
    path("custody/places/<int:place_pk>/check-in/", views.place_check_in, name="place_check_in"),
    path("custody/stays/", views.stay_list, name="stays"),
    path("custody/stays/<int:stay_pk>/", views.stay_detail, name="stay"),
    path("custody/stays/<int:stay_pk>/test/", views.stay_test, name="stay_test"),
    path("custody/stays/<int:stay_pk>/end/", views.stay_finish, name="stay_end"),
    path("custody/monitoring/", views.monitoring_list, name="monitoring"),
]
