"""The rules of the epidemic response as versioned data (DESIGN.md "Protocol as data").

Pure Python: imports neither Django nor any other part of ``lianfang``. A deployment picks an
edition (``p9`` by default, ``p8``, ``community-2022``) and reads every duration, test day,
threshold and zone rule from it. Values marked *(verify)* in DOMAIN.md are local practice: each
section lists them in ``verify``, and ``Protocol.verify_paths()`` gathers them.
"""

from __future__ import annotations

from .clock import SHANGHAI
from .contacts import CATEGORIES, CATEGORY_LABELS, MEASURE_LABELS, MEASURES, ContactMeasure, ContactRules
from .editions import DEFAULT_EDITION, EDITIONS, UnknownEdition, edition, editions
from .export import as_dict
from .model import Protocol
from .plans import Plan, contact_plan, late_test_days, plan_for
from .sections import POOL_POLICY_LABELS, SEVERITIES, Command, Screening, Tracing, Transfer, Treatment
from .treatment import (
    DESIGNATED_HOSPITAL,
    FANGCANG,
    PLACEMENTS,
    AfterDischarge,
    after_discharge,
    discharge_ready,
    placement,
)
from .zones import LIFTED, ZONE_REGIMES, ZoneRegime, ZoneType, regime_for_type

__all__ = [
    "AfterDischarge",
    "CATEGORIES",
    "CATEGORY_LABELS",
    "DEFAULT_EDITION",
    "DESIGNATED_HOSPITAL",
    "EDITIONS",
    "FANGCANG",
    "LIFTED",
    "MEASURES",
    "MEASURE_LABELS",
    "PLACEMENTS",
    "POOL_POLICY_LABELS",
    "SEVERITIES",
    "SHANGHAI",
    "ZONE_REGIMES",
    "Command",
    "ContactMeasure",
    "ContactRules",
    "Plan",
    "Protocol",
    "Screening",
    "Tracing",
    "Transfer",
    "Treatment",
    "UnknownEdition",
    "ZoneRegime",
    "ZoneType",
    "after_discharge",
    "as_dict",
    "contact_plan",
    "discharge_ready",
    "edition",
    "editions",
    "late_test_days",
    "placement",
    "plan_for",
    "regime_for_type",
]
