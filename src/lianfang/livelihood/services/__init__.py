"""The writes of the livelihood app; each checks the actor's verb and authority first."""

from lianfang.livelihood.services.requests import (
    LivelihoodError,
    request_accept,
    request_assign,
    request_close,
    request_deliver,
    request_file,
    requests_escalate,
)
from lianfang.livelihood.services.resident import code_check, code_send

__all__ = [
    "LivelihoodError",
    "code_check",
    "code_send",
    "request_accept",
    "request_assign",
    "request_close",
    "request_deliver",
    "request_file",
    "requests_escalate",
]
