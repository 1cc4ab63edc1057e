"""The tracing writes (re-exported): cases, contacts, trace tasks, the screening hand-off."""

from lianfang.tracing.services.cases import case_create, case_place, cases_import, placement_proposal
from lianfang.tracing.services.common import NotFound, TracingError
from lianfang.tracing.services.contacts import (
    contact_add,
    contacts_confirm_companions,
    contacts_import,
    contacts_remerge,
)
from lianfang.tracing.services.handoff import case_from_finding, findings_awaiting
from lianfang.tracing.services.tasks import trace_task_new, trace_task_open, trace_task_update

__all__ = [
    "NotFound",
    "TracingError",
    "case_create",
    "case_from_finding",
    "case_place",
    "cases_import",
    "contact_add",
    "contacts_confirm_companions",
    "contacts_import",
    "contacts_remerge",
    "findings_awaiting",
    "placement_proposal",
    "trace_task_new",
    "trace_task_open",
    "trace_task_update",
]
