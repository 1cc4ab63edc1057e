"""Chinese number formats: Django's zh_Hans with grouping by thousands (1,234,567), as official
statistics print counts and as the English pages show them, so ``intcomma`` groups in both
languages (Django's own zh_Hans sets no separator, and its grouping of four is for 万)."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
