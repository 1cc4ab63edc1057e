"""Transfer orders, places with their rooms and beds, and stays in them.

Scoping (deny by default, ``visible_to``):

- a transfer order lies in the community it picks the person up from (the person's own, else the
  one the order was made for): that jurisdiction sees and moves it;
- a place (hotel, 方舱, designated hospital) and its rooms or beds lie in the place's community;
- a stay is seen from both ends: by the place's jurisdiction (they hold the person: "Jinjiang sees
  the room") and by the person's home jurisdiction ("Fengze sees their person"). Changing a stay
  (tests, release, discharge) needs authority over the place;
- the home health monitoring after a discharge (tests recorded on the discharged stay after its
  end) belongs to the home jurisdiction alone: it sees and records them, the place does not.

Occupancy is never typed in: it is the count of open stays in a unit.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from lianfang.accounts.scoping import Actor, Located, LocatedQuerySet, ScopedQuerySet, inside_q


class TransferState(models.TextChoices):
    REQUESTED = "requested", _("待派车")
    ASSIGNED = "assigned", _("已派车")
    PICKED_UP = "picked_up", _("已接到")
    DELIVERED = "delivered", _("已送达")
    CANCELLED = "cancelled", _("已取消")


LIVE_STATES = (TransferState.REQUESTED, TransferState.ASSIGNED, TransferState.PICKED_UP)


class TransferCategory(models.TextChoices):
    CASE = "case", _("感染者")
    CLOSE = "close", _("密接")
    SECONDARY = "secondary", _("次密接")


class PlaceKind(models.TextChoices):
    HOTEL = "hotel", _("集中隔离点（酒店）")
    FANGCANG = "fangcang", _("方舱医院")
    HOSPITAL = "designated_hospital", _("定点医院")


TREATMENT_KINDS = (PlaceKind.FANGCANG, PlaceKind.HOSPITAL)


class PlaceQuerySet(LocatedQuerySet):
    located_path = ""


class Place(Located):
    code = models.CharField(_("编号"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=24, choices=PlaceKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PlaceQuerySet.as_manager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def treats(self) -> bool:
        """A 方舱 or designated hospital (beds, discharge) rather than an isolation hotel (rooms, release)."""
        return self.kind in TREATMENT_KINDS


class UnitQuerySet(LocatedQuerySet):
    located_path = "place"


class Unit(models.Model):
    """A room of a hotel or a bed of a 方舱 / hospital. A room holds one person, or the people of
    one household placed together up to its ``beds``; a bed holds one person."""

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="units")
    label = models.CharField(_("房间/床位号"), max_length=32)
    beds = models.PositiveSmallIntegerField(_("床数"), default=1)

    objects = UnitQuerySet.as_manager()

    class Meta:
        ordering = ["place", "label"]
        constraints = [
            models.UniqueConstraint(fields=["place", "label"], name="custody_unit_label_unique"),
            models.CheckConstraint(condition=Q(beds__gte=1), name="custody_unit_beds_positive"),
        ]

    def __str__(self) -> str:
        return self.label


class TransferOrderQuerySet(LocatedQuerySet):
    located_path = ""

    def live(self):
        return self.filter(state__in=LIVE_STATES)


class TransferOrder(Located):
    """One transfer of one person (Located: the community they are picked up in)."""

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("类别"), max_length=16, choices=TransferCategory.choices)
    case_code = models.CharField(_("关联病例"), max_length=32, blank=True)
    edition = models.CharField(_("防控方案版本"), max_length=32)
    # The clock: from the contact's registration (or upgrade) or the case's report, by the edition.
    clock_from = models.DateTimeField(_("计时起点"))
    due_at = models.DateTimeField(_("转运时限"), db_index=True)
    destination = models.ForeignKey(
        Place, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("目的地")
    )
    vehicle = models.CharField(_("车辆"), max_length=32, blank=True)
    crew = models.CharField(_("转运人员"), max_length=100, blank=True)
    state = FSMField(_("状态"), max_length=16, choices=TransferState.choices, default=TransferState.REQUESTED)
    created_at = models.DateTimeField(_("创建时间"))
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)

    objects = TransferOrderQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            # One live order per person, held by the database (two tracers at once cannot both win).
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(state__in=[s.value for s in LIVE_STATES]),
                name="custody_one_live_transfer_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"transfer {self.pk}"

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    # The one state machine (django-fsm-2): services call these, then save and audit.
    @transition(field=state, source=TransferState.REQUESTED, target=TransferState.ASSIGNED)
    def assign(self, *, at, vehicle: str, crew: str, destination: Place | None) -> None:
        self.assigned_at, self.vehicle, self.crew = at, vehicle, crew
        if destination is not None:
            self.destination = destination

    @transition(field=state, source=TransferState.ASSIGNED, target=TransferState.PICKED_UP)
    def pick_up(self, *, at) -> None:
        self.picked_up_at = at

    @transition(field=state, source=TransferState.PICKED_UP, target=TransferState.DELIVERED)
    def deliver(self, *, at) -> None:
        self.delivered_at = at

    @transition(field=state, source=[s.value for s in LIVE_STATES], target=TransferState.CANCELLED)
    def cancel(self, *, at, reason: str) -> None:
        self.cancelled_at, self.cancel_reason = at, reason


# The home columns of a stay, by the length of the codes they hold (for ``inside_q``).
HOME_COLUMNS = {6: "home_county", 9: "home_town", 12: "home_community"}
PLACE_COLUMNS = {6: "unit__place__county_code", 9: "unit__place__town_code", 12: "unit__place__community_id"}


class StayQuerySet(ScopedQuerySet):
    def visible_to(self, actor: Actor):
        """Stays at the actor's places and stays of the actor's residents (anywhere)."""
        if not actor.codes:
            return self.none()
        return self.filter(inside_q(actor.codes, PLACE_COLUMNS) | inside_q(actor.codes, HOME_COLUMNS))

    def held_by(self, actor: Actor):
        """Stays at places inside the actor's jurisdiction (those the actor may change)."""
        if not actor.codes:
            return self.none()
        return self.filter(inside_q(actor.codes, PLACE_COLUMNS))

    def homed_in(self, actor: Actor):
        """Stays of the actor's residents (by the home community), wherever the place: whose
        home health monitoring after a discharge is theirs to see and record."""
        if not actor.codes:
            return self.none()
        return self.filter(inside_q(actor.codes, HOME_COLUMNS))

    def open(self):
        return self.filter(ended_at__isnull=True)


class StayEnd(models.TextChoices):
    RELEASED = "released", _("解除隔离")
    DISCHARGED = "discharged", _("出院")


class Stay(models.Model):
    """A person in a room or bed, from check-in to release or discharge."""

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="stays")
    # The person's home community ("" when unknown), for their own jurisdiction's view.
    home_community = models.CharField(max_length=12, blank=True, db_index=True)
    home_town = models.CharField(max_length=9, blank=True, db_index=True)
    home_county = models.CharField(max_length=6, blank=True, db_index=True)
    household = models.CharField(_("同住户号"), max_length=32, blank=True)
    case_code = models.CharField(_("关联病例"), max_length=32, blank=True)
    edition = models.CharField(_("防控方案版本"), max_length=32)
    transfer = models.ForeignKey(
        TransferOrder, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    checked_in_at = models.DateTimeField(_("入住时间"))
    ended_at = models.DateTimeField(_("离开时间"), null=True, blank=True)
    end_kind = models.CharField(_("离开方式"), max_length=16, choices=StayEnd.choices, blank=True)
    # 点对点 closed-loop return home: how (vehicle, escort) — required for a release.
    return_home = models.CharField(_("点对点返家"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = StayQuerySet.as_manager()

    class Meta:
        ordering = ["-checked_in_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(ended_at__isnull=True), name="custody_one_open_stay_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"stay {self.pk}"


class TestResult(models.TextChoices):
    NEGATIVE = "negative", _("阴性")
    POSITIVE = "positive", _("阳性")
    INCONCLUSIVE = "inconclusive", _("可疑")
    INVALID = "invalid", _("无效")


class StayTest(models.Model):
    """A nucleic-acid test taken during a stay (the plan's test days; the discharge rule's Ct values),
    or, sampled after a discharge inside its monitoring window, a test of the home health monitoring.

    Monitoring tests live here rather than in a model of their own: they are the same kind of
    record (a sample, its result and Ct values) of the same person and case, the discharged stay
    is what dates the window (``ended_at`` + the stay's edition), and the window never overlaps
    the stay (it starts at ``ended_at``), so ``sampled_at`` alone says which part a test is of.
    """

    __test__ = False  # not a pytest class

    stay = models.ForeignKey(Stay, on_delete=models.CASCADE, related_name="tests")
    sampled_at = models.DateTimeField(_("采样时间"))
    result = models.CharField(_("结果"), max_length=16, choices=TestResult.choices)
    ct_n = models.FloatField(_("N 基因 Ct"), null=True, blank=True)
    ct_orf1ab = models.FloatField(_("ORF1ab 基因 Ct"), null=True, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["sampled_at", "id"]

    def __str__(self) -> str:
        return f"{self.result} {self.sampled_at:%Y-%m-%d %H:%M}"
