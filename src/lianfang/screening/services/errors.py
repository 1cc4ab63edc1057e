"""What a screening service refuses, with a message in Chinese and in English."""

from __future__ import annotations


class ScreeningError(ValueError):
    """A request that cannot be done, with a message in Chinese and in English."""

    def __init__(self, code: str, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.code, self.zh, self.en = code, zh, en
