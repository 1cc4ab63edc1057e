"""A refusal every edge can show: a code and a message in Chinese and in English."""

from __future__ import annotations


class Refused(Exception):
    """A request a service will not do. Pages show it, the API answers with it, an upload task
    records it as the job's failure and the CLI prints it (exit status 2): never a 500."""

    def __init__(self, code: str, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.code, self.zh, self.en = code, zh, en
