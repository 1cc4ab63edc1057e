"""Command posts, working groups and members (history kept), and directives between posts.

A directive goes from a post to a post strictly below it (its division inside the sender's); the
sender needs authority over the sending post, the receiver over the receiving one. Its
acknowledgement is due ``command.directive_ack_hours`` after it was sent (the edition in force,
stored with the directive); unacknowledged past that, it shows red.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.command.models import Directive, GroupKind, MemberRole, Membership, Post, WorkingGroup
from lianfang.core import codes
from lianfang.core.errors import Refused


class PostRefused(Refused):
    pass


def _not_found() -> PostRefused:
    return PostRefused(
        "not_found", "对象不存在（或不在您的辖区内）", "not found (or not in your jurisdiction)"
    )


def _authority(actor: Actor | None, code: str) -> None:
    if actor is not None and not actor.covers(code):
        raise PostRefused("out_of_jurisdiction", "不在您的辖区内", "outside your jurisdiction")


def _post(actor: Actor | None, pk) -> Post:
    qs = Post.objects.all() if actor is None else Post.objects.visible_to(actor)
    post = qs.filter(pk=pk).first()
    if post is None:
        raise _not_found()
    return post


@transaction.atomic
def post_create(*, actor: Actor | None, name: str, division_code: str) -> Post:
    from lianfang.geo.models import Division

    require(actor, "command.organise")
    name = (name or "").strip()
    if not name:
        raise PostRefused("missing_name", "请填写名称", "a name is required")
    division = Division.objects.filter(code=division_code).first()
    if division is None or codes.level(division_code) > codes.TOWN:
        raise PostRefused(
            "bad_division",
            "指挥部须设在省、市、县或乡镇街道",
            "a post sits at a province, city, county or town",
        )
    _authority(actor, division_code)
    try:
        with transaction.atomic():
            post = Post.objects.create(
                name=name[:100], division_code=division_code, created_at=timezone.now()
            )
    except IntegrityError:
        raise PostRefused(
            "name_taken", "该区划已有同名指挥部", "that division already has a post of that name"
        ) from None
    audit_record(actor=actor, action="create", object_type="post", object_id=str(post.pk))
    return post


@transaction.atomic
def group_create(*, actor: Actor | None, post_id: int, name: str, kind: str) -> WorkingGroup:
    require(actor, "command.organise")
    post = _post(actor, post_id)
    _authority(actor, post.division_code)
    if kind not in GroupKind.values:
        raise PostRefused("bad_kind", "专班类别无效", "unknown kind of working group")
    name = (name or "").strip() or GroupKind(kind).label
    group = WorkingGroup.objects.create(post=post, name=str(name)[:100], kind=kind, created_at=timezone.now())
    audit_record(actor=actor, action="create", object_type="working_group", object_id=str(group.pk))
    return group


def _group(actor: Actor | None, pk) -> WorkingGroup:
    group = WorkingGroup.objects.select_related("post").filter(pk=pk).first()
    if group is None or (
        actor is not None and not Post.objects.visible_to(actor).filter(pk=group.post_id).exists()
    ):
        raise _not_found()
    _authority(actor, group.post.division_code)
    return group


@transaction.atomic
def group_merge(*, actor: Actor | None, group_id: int, into_id: int) -> WorkingGroup:
    """Dissolve a group into another of the same post; its current members move across."""
    require(actor, "command.organise")
    group, into = _group(actor, group_id), _group(actor, into_id)
    if group.post_id != into.post_id or group.pk == into.pk or group.dissolved_at or into.dissolved_at:
        raise PostRefused(
            "bad_merge",
            "只能并入同一指挥部下另一个在运行的专班",
            "merge into another active group of the same post",
        )
    now = timezone.now()
    for m in group.memberships.filter(left_at=None):
        m.left_at = now
        m.save(update_fields=["left_at"])
        Membership.objects.create(group=into, user_id=m.user_id, role=m.role, joined_at=now)
    group.dissolved_at, group.merged_into = now, into
    group.save(update_fields=["dissolved_at", "merged_into"])
    audit_record(
        actor=actor,
        action="update",
        object_type="working_group",
        object_id=str(group.pk),
        detail={"merged_into": into.pk},
    )
    return into


@transaction.atomic
def member_set(*, actor: Actor | None, group_id: int, username: str, role: str) -> Membership | None:
    """Staff a group: the user's current place in it ends and, unless ``role`` is "", a new one starts."""
    from lianfang.accounts.models import User

    require(actor, "command.organise")
    group = _group(actor, group_id)
    if group.dissolved_at:
        raise PostRefused("dissolved", "专班已撤销或合并", "the group was dissolved or merged")
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise PostRefused("unknown_user", "用户不存在", "unknown user")
    if role and role not in MemberRole.values:
        raise PostRefused("bad_role", "职务无效", "unknown role in the group")
    now = timezone.now()
    Membership.objects.filter(group=group, user=user, left_at=None).update(left_at=now)
    member = Membership.objects.create(group=group, user=user, role=role, joined_at=now) if role else None
    audit_record(
        actor=actor,
        action="update",
        object_type="working_group",
        object_id=str(group.pk),
        detail={"user": username, "role": role},
    )
    return member


@transaction.atomic
def directive_send(
    *, actor: Actor | None, from_post_id: int, to_post_id: int, title: str, body: str = ""
) -> Directive:
    from lianfang.edition.services import in_force

    require(actor, "directive.send")
    sender, receiver = _post(actor, from_post_id), _post(actor, to_post_id)
    _authority(actor, sender.division_code)
    if not (
        receiver.division_code.startswith(sender.division_code)
        and receiver.division_code != sender.division_code
    ):
        raise PostRefused("not_lower", "指令只能发给下级指挥部", "a directive goes to a lower post")
    title = (title or "").strip()
    if not title:
        raise PostRefused("missing_title", "请填写指令", "the directive needs a title")
    now, protocol = timezone.now(), in_force()
    directive = Directive.objects.create(
        from_post=sender,
        to_post=receiver,
        title=title[:200],
        body=body,
        edition=protocol.code,
        sent_at=now,
        sent_by=actor.user if actor else None,
        ack_due_at=now + dt.timedelta(hours=protocol.command.directive_ack_hours),
    )
    audit_record(actor=actor, action="create", object_type="directive", object_id=str(directive.pk))
    return directive


@transaction.atomic
def directive_step(*, actor: Actor | None, directive_id: int, step: str, report: str = "") -> Directive:
    """``acknowledge`` (签收) then ``report`` (反馈), by the receiving post."""
    require(actor, "directive.ack")
    qs = Directive.objects.select_for_update().select_related("to_post")
    directive = (qs if actor is None else qs.visible_to(actor)).filter(pk=directive_id).first()
    if directive is None:
        raise _not_found()
    _authority(actor, directive.to_post.division_code)
    now = timezone.now()
    if step == "acknowledge" and directive.acknowledged_at is None:
        directive.acknowledged_at, directive.acknowledged_by = now, actor.user if actor else None
        directive.save(update_fields=["acknowledged_at", "acknowledged_by"])
    elif step == "report" and directive.acknowledged_at is not None and directive.reported_at is None:
        if not (report or "").strip():
            raise PostRefused("missing_report", "请填写反馈内容", "write what was done")
        directive.reported_at, directive.report = now, report.strip()
        directive.save(update_fields=["reported_at", "report"])
    else:
        raise PostRefused(
            "bad_step", "当前状态不能执行此操作", "not allowed in the directive's current state"
        )
    audit_record(
        actor=actor,
        action="update",
        object_type="directive",
        object_id=str(directive.pk),
        detail={"step": step},
    )
    return directive
