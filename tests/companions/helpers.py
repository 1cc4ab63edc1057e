"""A companions run from the web's path, for the pages' tests and the route walkers."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from lianfang.accounts.scoping import Actor

# Stays around a case reported 2022-03-21 10:00 (tests/tracing/helpers.case): the case in cell c1
# from 08:00 to 09:00 the day before; each companion key shares it for the minutes given.
CASE_STAY = ("c1", "2022-03-20 08:00", "2022-03-20 09:00")


def pings_csv(case_key: str, companions: dict[str, tuple[str, str]], extra: list[str] = ()) -> bytes:
    """A pings.csv: the case's stay and each companion key's (start, end) in the same cell."""
    lines = ["person_key,cell_id,start,end", f"{case_key},{','.join(CASE_STAY)}"]
    lines += [f"{key},c1,{start},{end}" for key, (start, end) in companions.items()]
    lines += list(extra)
    return ("\n".join(lines) + "\n").encode()


def companion_run(user, case_key: str, companions: dict[str, tuple[str, str]], case_codes=()):
    """Upload and run (the background task, run here) as ``user``; the run."""
    from lianfang.companions.services import companions_run_create, companions_run_execute

    run = companions_run_create(
        actor=Actor.for_user(user, ip="127.0.0.1"),
        uploaded_file=SimpleUploadedFile("pings.csv", pings_csv(case_key, companions)),
        case_codes=list(case_codes),
    )
    companions_run_execute(run_id=str(run.pk))
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run
