"""The command layer's pages (thin: validate, call a service or selector, render)."""

from .briefing import briefing_detail, briefing_download, briefing_list
from .consultations import consultation, consultations
from .overdue import overdue
from .posts import directive_act, directives, posts
from .problems import evidence_download, problem_act, problem_detail, problem_evidence, problem_list
from .screen import screen, screen_json

__all__ = [
    "briefing_detail",
    "consultation",
    "consultations",
    "directive_act",
    "directives",
    "overdue",
    "posts",
    "briefing_download",
    "briefing_list",
    "evidence_download",
    "problem_act",
    "problem_detail",
    "problem_evidence",
    "problem_list",
    "screen",
    "screen_json",
]
