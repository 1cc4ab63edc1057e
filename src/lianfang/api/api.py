"""/api/v1: devices and scripts, authenticated by token, every route scoped to the token's user."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer

from lianfang.accounts.masking import mask_query
from lianfang.accounts.ratelimit import RateLimited, spend_search, spend_token
from lianfang.accounts.scoping import Actor, NotPermitted, client_ip, require
from lianfang.accounts.services import audit_record, token_actor
from lianfang.core import codes, plugins
from lianfang.core.errors import Refused
from lianfang.core.fields import api_text
from lianfang.geo.models import Division
from lianfang.people.models import CommunityStats, IdType, Person
from lianfang.people.presenters import person_public
from lianfang.people.selectors import person_by_id_number, person_get, persons_search, search_kind


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        actor = token_actor(token, ip=client_ip(request))
        if actor is not None:
            spend_token(actor.token_id)  # every token has a budget of requests a minute
        return actor


class ErrorOut(Schema):
    detail: str


class InvalidOut(Schema):
    """422: the request does not match the schema; one entry per field at fault."""

    detail: list[dict]


# What any route may answer besides its own result: a refused request (control characters:
# core/fields.py), no or a bad token, a malformed request, the
# token's rate limit, an overloaded server (config/load.py). A route adds its own below.
_COMMON_ERRORS = {
    400: "refused: control characters in the request, or the message says why / 请求被拒绝（原因见 detail）",
    401: "no valid token / 令牌缺失或无效",
    422: "the request does not match the schema / 请求不符合接口定义",
    429: "rate limit reached; see Retry-After / 请求过于频繁",
    503: "server busy or database unavailable; see Retry-After / 系统繁忙",
}
_WRITE_ERRORS = {
    403: "the token's role may not do this / 角色无此权限",
    404: "not there, or not in the token's jurisdiction / 不存在或不在辖区内",
    409: "conflicts with what is stored / 与已有数据冲突",
}
_PERSON_ERRORS = {403: "the token's role may not read the registry / 角色无权查询人员"}
_NOT_FOUND = {404: "not there, or not in the token's jurisdiction / 不存在或不在辖区内"}


class LianfangAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """The schema with every status the API answers declared on each operation."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorOut"] = ErrorOut.json_schema()
        components["InvalidOut"] = InvalidOut.json_schema()
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                extra = dict(_COMMON_ERRORS)
                if method != "get":
                    extra.update(_WRITE_ERRORS)
                if "{" in path or path.endswith("/lookup"):
                    extra.update(_NOT_FOUND)
                if "/persons" in path:
                    extra.update(_PERSON_ERRORS)
                responses = operation.setdefault("responses", {})
                for status, text in extra.items():
                    body = "InvalidOut" if status == 422 else "ErrorOut"
                    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}
                    responses.setdefault(status, {"description": text, "content": content})
        return schema


api = LianfangAPI(
    title="联防 Lianfang API",
    version="1",
    description="Person lookup and search, divisions; scoped to the token's jurisdictions. "
    'Send `Authorization: Bearer <token>`. Errors answer `{"detail": "中文 / English"}`.',
    auth=TokenAuth(),
    urls_namespace="api",
    docs_url="/docs",
    # The schema and its page name every route and field: for logged-in users only.
    docs_decorator=login_required,
)


@api.exception_handler(Refused)
def _refused(request, exc: Refused):
    status = 429 if isinstance(exc, RateLimited) else 403 if isinstance(exc, NotPermitted) else 400
    response = api.create_response(request, {"detail": str(exc)}, status=status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _person_reader(request) -> Actor:
    """The actor of a registry read: a role that needs it (not a sampling or lab device), within
    its search budget."""
    actor: Actor = request.auth
    require(actor, "persons.read")
    spend_search(actor.user.pk)
    return actor


for _plugin in plugins.discover():
    if _plugin.api_router:
        api.add_router(_plugin.api_prefix, plugins.resolve(_plugin.api_router))


# Parameters refused with 422 and a bilingual message when they hold a NUL (or another control
# character) or are longer than the field they are looked up in (lianfang.core.fields).
DivisionCode = api_text(Division._meta.get_field("code"))
IdNumber = api_text(Person._meta.get_field("id_number"))
SearchText = api_text()  # cut to 64 characters below


class MeOut(Schema):
    username: str
    role: str
    jurisdictions: list[str]
    sees_personal_data: bool


class PersonOut(Schema):
    id: int
    id_type: str
    id_number: str
    name: str
    phone: str
    address: str
    community_code: str
    community_name: str
    sex: str
    age: int | None
    tags: list[str]
    home_sampling: bool
    registered: bool
    masked: bool


class DivisionOut(Schema):
    code: str
    name: str
    level: int
    parent: str | None
    registered: int
    unregistered: int


def _division_out(division: Division, counts: dict) -> dict:
    return {
        "code": division.code,
        "name": division.name,
        "level": division.level,
        "parent": division.parent_id,
        "registered": counts.get("registered", 0),
        "unregistered": counts.get("unregistered", 0),
    }


def _counts(actor: Actor, division_codes: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {code: {"registered": 0, "unregistered": 0} for code in division_codes}
    if not division_codes:
        return out
    levels = {codes.level(c) for c in division_codes}
    for row in CommunityStats.objects.visible_to(actor).values_list(
        "community_id", "registered", "unregistered"
    ):
        for lvl in levels:
            bucket = out.get(codes.at_level(row[0], lvl))
            if bucket is not None:
                bucket["registered"] += row[1]
                bucket["unregistered"] += row[2]
    return out


@api.get("/me", response=MeOut, tags=["accounts"])
def me(request):
    actor: Actor = request.auth
    return {
        "username": actor.user.username,
        "role": actor.role,
        "jurisdictions": list(actor.codes),
        "sees_personal_data": actor.sees_personal_data,
    }


@api.get("/divisions", response=list[DivisionOut], tags=["geo"])
def divisions(request, parent: DivisionCode | None = None):
    """Children of ``parent`` (or the token's own jurisdictions), with registered people counts."""
    actor: Actor = request.auth
    visible = Division.objects.visible_to(actor)
    rows = list(visible.filter(parent_id=parent) if parent else visible.filter(code__in=actor.codes))
    counts = _counts(actor, [d.code for d in rows])
    return [_division_out(d, counts[d.code]) for d in rows]


@api.get("/divisions/{code}", response=DivisionOut, tags=["geo"])
def division(request, code: DivisionCode):
    actor: Actor = request.auth
    found = Division.objects.visible_to(actor).filter(code=code).first()
    if found is None:
        raise HttpError(404, "not found / 未找到")
    return _division_out(found, _counts(actor, [code])[code])


@api.get("/persons", response=list[PersonOut], tags=["people"])
def persons(request, q: SearchText, limit: int = 20):
    """Search by ID number (or its last digits), phone, name, or pinyin / initials of the name."""
    actor = _person_reader(request)
    found = persons_search(actor=actor, q=q[:64], limit=max(1, min(limit, 100)))
    audit_record(
        actor=actor,
        action="search",
        object_type="person",
        detail={"q": mask_query(q[:64], search_kind(q[:64])), "hits": len(found), "api": True},
    )
    return [person_public(p, actor) for p in found]


@api.get("/persons/lookup", response=PersonOut, tags=["people"])
def person_lookup(request, id_number: IdNumber, id_type: IdType = IdType.RESIDENT_ID):
    """Exactly one person by ID type and number (a scanned ID card)."""
    actor = _person_reader(request)
    found = person_by_id_number(actor=actor, id_type=id_type, id_number=id_number)
    if found is None:
        raise HttpError(404, "not found / 未找到")
    audit_record(actor=actor, action="view", object_type="person", object_id=found.pk, detail={"api": True})
    return person_public(found, actor)


@api.get("/persons/{person_id}", response=PersonOut, tags=["people"])
def person(request, person_id: int):
    actor = _person_reader(request)
    found = person_get(actor=actor, pk=person_id)
    if found is None:
        raise HttpError(404, "not found / 未找到")
    audit_record(actor=actor, action="view", object_type="person", object_id=found.pk, detail={"api": True})
    return person_public(found, actor)
