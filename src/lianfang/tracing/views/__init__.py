"""The tracing pages, thin: validate, call a service, render."""

from lianfang.tracing.views.pages import (
    case_detail,
    case_list,
    chains,
    contact_list,
    finding_list,
    task_detail,
)

__all__ = ["case_detail", "case_list", "chains", "contact_list", "finding_list", "task_detail"]
