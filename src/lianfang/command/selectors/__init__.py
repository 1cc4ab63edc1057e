"""The command layer's reads, each taking the actor."""

from lianfang.command.selectors.problems import act_now

__all__ = ["act_now"]
