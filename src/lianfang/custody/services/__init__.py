"""The custody writes, each checking the actor's verb and jurisdiction first (``actor`` None: the
server's authority), each audited."""

from lianfang.custody.services.common import CustodyError
from lianfang.custody.services.places import place_create
from lianfang.custody.services.stays import stay_check_in, stay_end, stay_test_record
from lianfang.custody.services.transfers import transfer_move, transfer_request

__all__ = [
    "CustodyError",
    "place_create",
    "stay_check_in",
    "stay_end",
    "stay_test_record",
    "transfer_move",
    "transfer_request",
]
