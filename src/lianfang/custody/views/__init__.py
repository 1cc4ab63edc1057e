"""The custody pages, each marked ``@scoped``."""

from lianfang.custody.views.places import place_check_in, place_detail, place_list
from lianfang.custody.views.stays import monitoring_list, stay_detail, stay_finish, stay_list, stay_test
from lianfang.custody.views.transfers import transfer_detail, transfer_list, transfer_new, transfer_step

__all__ = [
    "monitoring_list",
    "place_check_in",
    "place_detail",
    "place_list",
    "stay_detail",
    "stay_finish",
    "stay_list",
    "stay_test",
    "transfer_detail",
    "transfer_list",
    "transfer_new",
    "transfer_step",
]
