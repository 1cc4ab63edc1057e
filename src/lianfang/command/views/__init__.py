"""The command layer's pages (thin: validate, call a service or selector, render)."""

from .briefing import briefing_detail, briefing_download, briefing_list

__all__ = ["briefing_detail", "briefing_download", "briefing_list"]
