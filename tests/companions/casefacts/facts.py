import datetime as dt

from lianfang.core.facts import CaseFact

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
CASES: list[CaseFact] = []


def case(code: str, *, id_number: str = "", phone: str = "", reported_at: dt.datetime) -> CaseFact:
    return CaseFact(
        case_code=code,
        id_type="resident_id",
        id_number=id_number,
        community_code="350582001004",
        classification_at_report="confirmed",
        found_in="screening",
        reported_at=reported_at,
        phone=phone,
    )


def cases_as_of(at=None) -> list[CaseFact]:
    return [c for c in CASES if at is None or c.reported_at <= at]
