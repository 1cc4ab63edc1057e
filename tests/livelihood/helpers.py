"""Requests for other tests' worlds (the route walkers): one new, one assigned, one delivered."""

from __future__ import annotations

from lianfang.accounts.roles import Role
from tests.conftest import make_user


def requests_in(community: str, prefix: str) -> dict:
    """Three requests of ``community`` (new, assigned to ``{prefix}_vol``, delivered) and the
    confirmation code of the assigned one."""
    from lianfang.livelihood.services import request_assign, request_deliver, request_file

    make_user(f"{prefix}_vol", Role.VOLUNTEER, [community])

    def one():
        return request_file(
            actor=None,
            source="worker",
            community_code=community,
            name="走访居民",
            phone="13700007777",
            address="1号楼101",
            kind="medicine",
            detail="降压药",
        )

    new, _ = one()
    assigned, code = one()
    request_assign(actor=None, pk=assigned.pk, username=f"{prefix}_vol")
    delivered, code2 = one()
    request_assign(actor=None, pk=delivered.pk, username=f"{prefix}_vol")
    request_deliver(actor=None, pk=delivered.pk, code=code2)
    return {"new": new, "assigned": assigned, "delivered": delivered, "code": code}
