"""Lianfang (联防): a city's epidemic-response command platform."""

__version__ = "0.1.0"
