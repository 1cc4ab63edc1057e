"""How an app plugs itself in: one ``plugin.py`` in its own package, found at start-up.

An installed app that has a ``plugin`` module declares there, in one :class:`Plugin` named
``PLUGIN``, everything the shared layers need from it: its importers (kind → function) and
rejection reasons, its permission verbs per role, its CLI subcommands, its navigation entries,
its API router, its URLs, the panel it adds to the person page and the items it adds to the
home page's "act now" list. ``imports``, the CLI, ``web``,
``api`` and ``accounts`` read these registries and name no domain; adding an app touches its own
folder, ``INSTALLED_APPS`` and nothing else.

Functions are named by dotted path (``"lianfang.screening.services.samples_import"``) and
imported when first used, so that declaring a plugin never imports a model before Django is ready.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec


@dataclass(frozen=True)
class Importer:
    """A kind of file ``lianfang import KIND`` and the upload pages take.

    ``run`` is called as ``run(table=, actor=, source=[, progress=])`` and returns
    ``(summary, outcomes)`` (one outcome per row: "", "accepted", "duplicate", "held" or a
    reason). With ``files="many"`` it is instead called as ``run(paths=, actor=, rejects_path=)``
    and returns the summary (a division tree spread over several files).
    """

    kind: str
    run: str
    label: tuple[str, str]
    files: str = "one"
    progress: bool = True  # ``run`` reports progress (a long file) through ``progress(done, total)``
    page: tuple[str, str] | None = None  # (URL name, label) of the page its uploads come from


@dataclass(frozen=True)
class NavEntry:
    """A link in the top navigation, shown to users whose role has ``verb`` (None: everybody)."""

    label: str
    url_name: str
    order: int = 100
    verb: str | None = None
    active: tuple[str, ...] = ()  # path prefixes of the pages under it (the longest match wins)


@dataclass(frozen=True)
class PersonPanel:
    """A section of the person page: ``context(person=, actor=)`` returns the template's context,
    or None to show nothing."""

    template: str
    context: str
    order: int = 100


@dataclass(frozen=True)
class AuditObject:
    """What the audit log calls a kind of object an app audits (``object_type``), and the page of
    one such object: a URL name taking the event's ``object_id`` as its one argument (None: none)."""

    label: str
    url_name: str | None = None


@dataclass(frozen=True)
class HomeSection:
    """An item of the home page's "act now" list, shown before the statistics:
    ``context(actor=, now=)`` returns the template's context, or None when there is nothing to
    act on (the section is then left out). Sections are shown by ``order``, lowest first."""

    template: str
    context: str
    order: int = 100


@dataclass(frozen=True)
class Periodic:
    """A job the background worker runs on a timer, once per ``every_seconds`` across all workers
    (imports/schedule.py claims each interval in the database): ``run`` is "module.function",
    called as ``f(now)`` and returning one line that says what it did. Each must be idempotent (a
    run after a missed interval catches up by itself)."""

    name: str  # unique across apps, e.g. "problems.raise"
    run: str
    every_seconds: int
    help: str = ""


@dataclass(frozen=True)
class Plugin:
    app: str
    importers: tuple[Importer, ...] = ()
    reasons: dict[str, tuple[str, str]] = field(default_factory=dict)
    # How to correct a row rejected for each reason (Chinese, English), shown beside the reason.
    fixes: dict[str, tuple[str, str]] = field(default_factory=dict)
    verbs: dict[str, frozenset[str]] = field(default_factory=dict)
    cli: str | None = None  # "module.function": function(subparsers, tools) adds subcommands
    nav: tuple[NavEntry, ...] = ()
    urls: str | None = None  # a URLconf module with app_name, mounted at the site's root
    api_router: str | None = None  # "module.router": a django-ninja Router under /api/v1/
    api_prefix: str = ""
    person_panels: tuple[PersonPanel, ...] = ()
    home: tuple[HomeSection, ...] = ()  # what its users must act on now, on the home page
    # Facts this app states for others to read (name → "module.function"), e.g. "cases_as_of":
    # an app that reads another's facts asks ``provider(name)`` and needs no import of it, so two
    # domains can be built, installed or left out independently (a missing fact is "—", not 0).
    provides: dict[str, str] = field(default_factory=dict)
    # How the audit log reads this app's events: its object types, and the keys of its events'
    # details (key → label), shown as fields instead of the stored JSON.
    audit_objects: dict[str, AuditObject] = field(default_factory=dict)
    audit_fields: dict[str, str] = field(default_factory=dict)
    periodic: tuple[Periodic, ...] = ()  # jobs the background worker runs on a timer


class PluginError(RuntimeError):
    """Two apps declared the same importer kind, verb, provided fact or CLI command."""


_lock = threading.Lock()
_plugins: list[Plugin] | None = None


def discover() -> list[Plugin]:
    """The plugins of the installed apps, in ``INSTALLED_APPS`` order (found once per process)."""
    global _plugins
    if _plugins is not None:
        return _plugins
    from django.apps import apps

    if not apps.ready:
        return []
    with _lock:
        if _plugins is None:
            found = []
            for config in apps.get_app_configs():
                name = f"{config.name}.plugin"
                if find_spec(name) is not None:
                    found.append(import_module(name).PLUGIN)
            _register(found)
            _plugins = found
    return _plugins


def reset() -> None:
    """Forget what was discovered (tests that install a throwaway app)."""
    global _plugins
    from lianfang.core.summary import forget_reasons

    with _lock:
        for plugin in _plugins or ():
            forget_reasons(plugin.app)
        _plugins = None


def _register(found: list[Plugin]) -> None:
    from lianfang.core.summary import register_fixes, register_reasons

    kinds: dict[str, str] = {}
    verbs: dict[str, str] = {}
    facts: dict[str, str] = {}
    jobs: dict[str, str] = {}
    for plugin in found:
        for job in plugin.periodic:
            if job.name in jobs:
                raise PluginError(f"periodic job {job.name!r}: {jobs[job.name]} and {plugin.app}")
            if job.every_seconds < 1:
                raise PluginError(f"periodic job {job.name!r}: every_seconds must be positive")
            jobs[job.name] = plugin.app
        for fact in plugin.provides:
            if fact in facts:
                raise PluginError(f"fact {fact!r}: {facts[fact]} and {plugin.app}")
            facts[fact] = plugin.app
        register_reasons(plugin.app, plugin.reasons)
        register_fixes(plugin.app, plugin.fixes)
        for importer in plugin.importers:
            if importer.kind in kinds:
                raise PluginError(f"import kind {importer.kind!r}: {kinds[importer.kind]} and {plugin.app}")
            kinds[importer.kind] = plugin.app
        for verb in plugin.verbs:
            if verb in verbs:
                raise PluginError(f"verb {verb!r}: {verbs[verb]} and {plugin.app}")
            verbs[verb] = plugin.app


def provider(fact: str) -> Callable | None:
    """The function an installed app provides for ``fact`` (``Plugin.provides``), or None when no
    installed app states it: the reader shows the figure as unknown, never as zero."""
    for plugin in discover():
        if fact in plugin.provides:
            return resolve(plugin.provides[fact])
    return None


def providers(family: str) -> list[Callable]:
    """Every function of a family of facts that several apps state, one each, in INSTALLED_APPS
    order: ``providers("overdue")`` gives the function of ``"overdue.screening"``,
    ``"overdue.tracing"`` … (each app names its own member of the family)."""
    prefix = f"{family}."
    return [
        resolve(path)
        for plugin in discover()
        for fact, path in plugin.provides.items()
        if fact.startswith(prefix)
    ]


def resolve(path: str) -> Callable:
    """``"package.module.name"`` → the object."""
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def periodic_jobs() -> list[Periodic]:
    """Every installed app's timed jobs, by name."""
    return sorted((job for p in discover() for job in p.periodic), key=lambda j: j.name)


def importers() -> dict[str, Importer]:
    return {i.kind: i for p in discover() for i in p.importers}


def importer(kind: str) -> Importer:
    found = importers().get(kind)
    if found is None:
        known = ", ".join(sorted(importers()))
        raise KeyError(f"未知的导入类型 / unknown import kind: {kind} (known: {known})")
    return found


def roles_for(verb: str) -> frozenset[str]:
    """The roles that may do ``verb``; an undeclared verb is a defect, not a silent refusal."""
    for plugin in discover():
        if verb in plugin.verbs:
            return plugin.verbs[verb]
    raise KeyError(f"undeclared permission verb: {verb}")


def all_verbs() -> dict[str, frozenset[str]]:
    return {verb: roles for p in discover() for verb, roles in p.verbs.items()}


def nav_entries() -> list[NavEntry]:
    return sorted((e for p in discover() for e in p.nav), key=lambda e: (e.order, e.url_name))


def audit_objects() -> dict[str, AuditObject]:
    return {kind: obj for p in discover() for kind, obj in p.audit_objects.items()}


def audit_fields() -> dict[str, str]:
    return {key: label for p in discover() for key, label in p.audit_fields.items()}


def person_panels() -> list[PersonPanel]:
    return sorted((x for p in discover() for x in p.person_panels), key=lambda x: x.order)


def home_sections() -> list[HomeSection]:
    return sorted((x for p in discover() for x in p.home), key=lambda x: (x.order, x.template))
