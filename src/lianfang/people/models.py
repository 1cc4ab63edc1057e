"""The person registry (底数): everybody the grid knows, and the unregistered found by screening."""

from __future__ import annotations

from django.db import models
from django.db.models import F
from django.db.models.functions import Collate
from django.utils.translation import gettext_lazy as _

from lianfang.accounts.scoping import LocatedQuerySet


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("居民身份证")
    PASSPORT = "passport", _("护照")
    HK_MACAO_PERMIT = "hk_macao_permit", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "taiwan_permit", _("台湾居民来往大陆通行证")
    OTHER = "other", _("其他")


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Tag(models.TextChoices):
    BEDRIDDEN = "bedridden", _("卧床")
    ELDERLY_ALONE = "elderly_alone", _("独居老人")
    INFANT = "infant", _("婴幼儿")
    PREGNANT = "pregnant", _("孕产妇")
    DIALYSIS = "dialysis", _("透析")
    DISABLED = "disabled", _("残障")


# People with these tags cannot come down to a sampling site: 上门采样.
HOME_SAMPLING_TAGS = frozenset({Tag.BEDRIDDEN, Tag.INFANT, Tag.PREGNANT, Tag.DISABLED, Tag.ELDERLY_ALONE})
# Tags that are health data (PIPL: sensitive): shown only to roles that see personal data.
HEALTH_TAGS = frozenset({Tag.BEDRIDDEN, Tag.PREGNANT, Tag.DIALYSIS, Tag.DISABLED})


class BytewiseIndex(models.Index):
    """An index on ``fields`` whose ``bytewise`` text columns sort by bytes on both databases.

    PostgreSQL: those columns as ``col COLLATE "C"``, so a prefix search is an index range and
    ``ORDER BY col COLLATE "C"`` is the index order, whatever the database's collation (a plain
    btree serves neither under a non-C collation; ``varchar_pattern_ops`` serves LIKE but not the
    order). SQLite: the plain columns, whose default BINARY collation already sorts by bytes.
    Read it with :func:`lianfang.people.selectors.bytewise`.
    """

    def __init__(self, *, fields, bytewise=(), **kwargs):
        super().__init__(fields=fields, **kwargs)
        self.bytewise = tuple(bytewise)

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        kwargs["bytewise"] = self.bytewise
        return path, args, kwargs

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql" or not self.bytewise:
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        columns = [Collate(F(f), "C") if f in self.bytewise else F(f) for f in self.fields]
        plain = models.Index(*columns, name=self.name, db_tablespace=self.db_tablespace)
        return plain.create_sql(model, schema_editor, using=using, **kwargs)


# The search keys of the registry (people.selectors.persons_search): each is read as "the first
# matches of a prefix in byte order", within a county or across a city.
SEARCH_KEYS = ("name", "name_initials", "name_pinyin", "id_number_rev", "phone_rev")
_SHORT = ("name", "ini", "py", "idrev", "phrev")  # in the index names


class PersonQuerySet(LocatedQuerySet):
    # The person's own columns (not the Located base: ``community`` may be empty for the unplaced).
    located_path = ""

    def registered(self):
        return self.filter(registered=True)


class Person(models.Model):
    id_type = models.CharField(
        _("证件类型"), max_length=16, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    id_number = models.CharField(_("证件号码"), max_length=32)
    # Reversed ID number and phone, so "the last digits" is an indexed prefix search.
    id_number_rev = models.CharField(max_length=32, editable=False)
    name = models.CharField(_("姓名"), max_length=64)
    name_pinyin = models.CharField(_("姓名拼音"), max_length=200, editable=False)
    name_initials = models.CharField(_("拼音首字母"), max_length=64, editable=False)
    # No index on the phone or the household: nothing looks either up (a phone is searched as
    # phone_rev); each was a btree + varchar_pattern_ops pair the bulk load paid for (issue 16).
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    phone_rev = models.CharField(max_length=20, blank=True, editable=False)
    community = models.ForeignKey(
        "geo.Division",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("社区村"),
    )
    town_code = models.CharField(_("乡镇街道"), max_length=9, blank=True, db_index=True)
    county_code = models.CharField(_("县区"), max_length=6, blank=True, db_index=True)
    address = models.CharField(_("住址"), max_length=200, blank=True)
    building = models.ForeignKey(
        "geo.Building", on_delete=models.SET_NULL, null=True, blank=True, related_name="residents"
    )
    household = models.CharField(_("户号"), max_length=32, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, blank=True)
    tags = models.CharField(_("标签"), max_length=200, blank=True)
    registered = models.BooleanField(
        _("在册"), default=True, help_text=_("否：筛查中发现、不在网格底数中的人员"), db_index=True
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        constraints = [models.UniqueConstraint(fields=["id_type", "id_number"], name="person_id_unique")]
        indexes = [
            models.Index(fields=["community", "id_number"], name="person_community_idx"),
            # Search (two indexes per key, the key in byte order, then id as the tie-break): the key
            # alone for a city (its counties are most of the table: walk the key, filter), the
            # county leading for a county (its matches in key order, straight off the index). The
            # county ones for the selective ID and phone tails too: without statistics SQLite takes
            # an equality on the county's own index over a range on the key (240 ms at 1 M).
            *(
                BytewiseIndex(fields=[key, "id"], bytewise=[key], name=f"person_{short}_idx")
                for key, short in zip(SEARCH_KEYS, _SHORT, strict=True)
            ),
            *(
                BytewiseIndex(
                    fields=["county_code", key, "id"], bytewise=[key], name=f"person_county_{short}_idx"
                )
                for key, short in zip(SEARCH_KEYS, _SHORT, strict=True)
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(";") if t]


class CommunityStatsQuerySet(LocatedQuerySet):
    # Keyed by community alone: a county or town is a prefix of it.
    located_path = ""
    located_columns = {12: "community__code"}


class CommunityStats(models.Model):
    """People per community, refreshed in one GROUP BY after every change to the registry.

    Home pages and the division tree read these 2,573 rows instead of counting millions.
    """

    community = models.OneToOneField(
        "geo.Division", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    registered = models.PositiveIntegerField(default=0)
    unregistered = models.PositiveIntegerField(default=0)
    households = models.PositiveIntegerField(default=0)
    bedridden = models.PositiveIntegerField(default=0)
    elderly_alone = models.PositiveIntegerField(default=0)
    infant = models.PositiveIntegerField(default=0)
    pregnant = models.PositiveIntegerField(default=0)
    dialysis = models.PositiveIntegerField(default=0)
    disabled = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    objects = CommunityStatsQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.community_id}: {self.registered}"

    TAG_FIELDS = ("bedridden", "elderly_alone", "infant", "pregnant", "dialysis", "disabled")
