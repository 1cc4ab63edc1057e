"""The tracing section of the person page: the person's case and their plans."""

from __future__ import annotations

from lianfang.tracing.models import Case, Contact
from lianfang.tracing.selectors import with_plans


def person_tracing(*, person, actor) -> dict | None:
    """The caller has already scoped the person (the person page)."""
    cases = list(Case.objects.filter(id_number=person.id_number).select_related("trace_task"))
    contacts = list(
        Contact.objects.filter(id_type=person.id_type, id_number=person.id_number).select_related("case")
    )
    if not cases and not contacts:
        return None
    return {"cases": cases, "plans": with_plans(contacts, actor)}
