"""The baseline of ``bench/device_api.py``: a bare Django endpoint doing the device API's inserts.

Run as a settings module (``DJANGO_SETTINGS_MODULE=bench.bare_endpoint``, the repository root on
``PYTHONPATH``): every setting, the middleware stack included, is Lianfang's own; only the URLs
change. ``POST /bare/tubes`` takes the same JSON as ``/api/v1/screening/tubes`` and
``POST /bare/scans`` the same as ``/api/v1/screening/scans``, and store the same rows — the tube,
its samples, an unregistered person for an ID not in the registry — with no authentication, no
validation, no duplicate or capacity check, no tube refresh and no audit: the floor of what Django
and the database cost for these inserts on this machine.
"""

from __future__ import annotations

import datetime as dt
import json

from django.urls import path

from lianfang.config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_endpoint"

_SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _when(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=_SHANGHAI)


def _store(head: dict, members: list[dict]) -> int:
    """The tube (created on its first row), missing people, one sample per member. Returns rows stored."""
    from django.db import connection, transaction
    from django.utils import timezone

    from lianfang.people.models import Person
    from lianfang.screening.models import Round, Sample, Site, Tube

    ids = [m["id_number"].upper() for m in members]
    times = [_when(m["collected_at"]) for m in members]
    with transaction.atomic():
        round_id = Round.objects.filter(code=head["round_code"]).values_list("id", flat=True)[0]
        tube_id = Tube.objects.filter(barcode=head["tube_barcode"]).values_list("id", flat=True).first()
        if tube_id is None:
            site_id = Site.objects.filter(code=head["site_code"]).values_list("id", flat=True)[0]
            tube_id = Tube.objects.create(
                barcode=head["tube_barcode"],
                round_id=round_id,
                pool_size=int(head["pool_size"]),
                site_id=site_id,
                box_code=head.get("box_code") or "",
                first_collected_at=min(times),
            ).id
        people = dict(
            Person.objects.dangerously_all()
            .filter(id_type="resident_id", id_number__in=ids)
            .values_list("id_number", "id")
        )
        missing = [i for i in ids if i not in people]
        if missing:  # visitors: a bare unregistered row, as the importer creates them
            from lianfang.people.services import INSERT_COLUMNS

            now = timezone.now()
            defaults = {"id_type": "resident_id", "registered": False, "created_at": now, "updated_at": now}
            rows = [
                tuple(
                    {**defaults, "id_number": i, "id_number_rev": i[::-1]}.get(
                        c, None if c in ("community_id", "birth_date") else ""
                    )
                    for c in INSERT_COLUMNS
                )
                for i in missing
            ]
            qn = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {qn(Person._meta.db_table)} ({', '.join(qn(c) for c in INSERT_COLUMNS)}) "
                    f"VALUES ({', '.join(['%s'] * len(INSERT_COLUMNS))})",
                    rows,
                )
            people.update(
                Person.objects.dangerously_all()
                .filter(id_type="resident_id", id_number__in=missing)
                .values_list("id_number", "id")
            )
        Sample.objects.bulk_create(
            [
                Sample(tube_id=tube_id, person_id=people[i], round_id=round_id, collected_at=t)
                for i, t in zip(ids, times, strict=True)
            ]
        )
    return len(ids)


def bare_tubes(request):
    body = json.loads(request.body)
    stored = _store(body, body["members"])
    return _answer(stored)


def bare_scans(request):
    body = json.loads(request.body)
    stored = _store(body, [body])
    return _answer(stored)


def _answer(stored: int):
    from django.http import JsonResponse

    return JsonResponse({"read": stored, "accepted": stored})


def __getattr__(name: str):
    """``urlpatterns``, built on first use: marking a view needs the apps loaded, settings come first."""
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.views.decorators.csrf import csrf_exempt
    from django.views.decorators.http import require_POST

    from lianfang.accounts.scoping import public

    patterns = [
        path("bare/tubes", public(csrf_exempt(require_POST(bare_tubes)))),
        path("bare/scans", public(csrf_exempt(require_POST(bare_scans)))),
    ]
    globals()["urlpatterns"] = patterns
    return patterns
