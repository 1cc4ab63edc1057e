"""`make mutants`: apply realistic one-line bugs, one at a time, and check the tests catch each.

Every mutant below is a bug that once got through (issue 17) or one of its class: jurisdiction
scoping, the audit of personal data, masking, device bindings, the status and exempt rules, login
throttling. For each, the working tree is copied once to a scratch directory (the working tree
itself is never edited), the mutant's snippet is replaced there, the mutant's tests run on SQLite
(``pytest -x -q -p no:cacheprovider``), and the file is put back. The table says which were caught.

A mutant whose snippet no longer occurs exactly once in its file is an error, not a skip: the
list must not rot silently as the code moves (tests/core/test_mutants.py checks this in CI).
Not run in CI (it takes minutes): run it before resolving an issue that touches scoping, audit,
devices or the status rules, and add the bug the issue was about to the list.

    python scripts/mutants.py            # all
    python scripts/mutants.py tracer     # those whose name contains "tracer"
    python scripts/mutants.py --list
    python scripts/mutants.py box --tests tests/api   # does this other test set catch it?
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DEVICE = "tests/accounts/test_device_binding.py"
AUDIT = "tests/accounts/test_audit_walker.py"
ROLES = "tests/accounts/test_scoping_roles.py"
SCOPING = "tests/accounts/test_scoping.py"
EXEMPT = "tests/screening/test_exempt_rule.py"
PAGES = "tests/web/test_pages.py"
LOGIN = "tests/web/test_login_failures.py"
FOLLOWUP = "tests/screening/test_recheck_deadlines.py"


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    path: str
    original: str
    replacement: str
    tests: tuple[str, ...]


MUTANTS: tuple[Mutant, ...] = (
    # --- issue 17's eight -------------------------------------------------------------------
    Mutant(
        "box-site-binding",
        "#1 the box hand-over ignores the device's site binding",
        "src/lianfang/screening/api.py",
        "            handed_over_at=body.handed_over_at,\n            site=device.site if device and device.site else None,\n",
        "            handed_over_at=body.handed_over_at,\n            site=None,\n",
        (DEVICE,),
    ),
    Mutant(
        "api-person-audit",
        "#2 GET /api/v1/persons/{id} writes no audit event",
        "src/lianfang/api/api.py",
        '    found = person_get(actor=actor, pk=person_id)\n    if found is None:\n        raise HttpError(404, "not found / 未找到")\n    audit_record(',
        '    found = person_get(actor=actor, pk=person_id)\n    if found is None:\n        raise HttpError(404, "not found / 未找到")\n    (lambda **kw: None)(',
        (AUDIT,),
    ),
    Mutant(
        "api-lookup-audit",
        "#3 GET /api/v1/persons/lookup writes no audit event",
        "src/lianfang/api/api.py",
        '    found = person_by_id_number(actor=actor, id_type=id_type, id_number=id_number)\n    if found is None:\n        raise HttpError(404, "not found / 未找到")\n    audit_record(',
        '    found = person_by_id_number(actor=actor, id_type=id_type, id_number=id_number)\n    if found is None:\n        raise HttpError(404, "not found / 未找到")\n    (lambda **kw: None)(',
        (AUDIT,),
    ),
    Mutant(
        "tracer-sees-every-county",
        "#4 Person.visible_to lets the tracer see every county",
        "src/lianfang/people/models.py",
        '    located_path = ""\n\n    def registered(self):',
        '    located_path = ""\n    visible_to = lambda self, actor: self.all() if actor.role == "tracer" else LocatedQuerySet.visible_to(self, actor)  # noqa\n\n    def registered(self):',
        (ROLES,),
    ),
    Mutant(
        "results-lab-binding",
        "#5 a results import ignores the lab device's binding",
        "src/lianfang/screening/services/results.py",
        "        labs = Lab.objects.filter(pk=lab.pk) if lab is not None else Lab.objects.all()\n",
        "        labs = Lab.objects.all()\n",
        (DEVICE,),
    ),
    Mutant(
        "live-exempt-age",
        "#6 the live pages and exports use an exempt age one year above the report's",
        "src/lianfang/screening/selectors/areas.py",
        "timezone.localtime(rnd.starts_at).date(), rnd.protocol.screening.exempt_under_years\n",
        "timezone.localtime(rnd.starts_at).date(), rnd.protocol.screening.exempt_under_years + 1\n",
        (EXEMPT,),
    ),
    Mutant(
        "recheck-deadlines-renewed",
        "#7 an inconclusive or invalid single re-check tube does not renew the task's deadlines",
        "src/lianfang/screening/services/followup.py",
        "            task.due_sample_at, task.due_result_at = _protocol_deadlines(now, edition)\n",
        "            task.due_sample_at, task.due_result_at = task.due_sample_at, task.due_result_at\n",
        (FOLLOWUP,),
    ),
    Mutant(
        "login-clears-failures",
        "#8 a successful login does not clear the failure count",
        "src/lianfang/config/settings.py",
        "AXES_RESET_ON_SUCCESS = True\n",
        "AXES_RESET_ON_SUCCESS = False\n",  # django-axes' own default
        (LOGIN,),
    ),
    # --- their classes -----------------------------------------------------------------------
    Mutant(
        "box-site-binding-service",
        "box_handover accepts a site other than the device's",
        "src/lianfang/screening/services/boxes.py",
        "    if box_site is None or (site is not None and site != box_site):\n",
        "    if box_site is None:\n",
        (DEVICE,),
    ),
    Mutant(
        "results-lab-binding-api",
        "the results route forgets the device's lab",
        "src/lianfang/screening/api.py",
        "    lab = device.lab if device and device.lab else None\n",
        "    lab = None\n",
        (DEVICE,),
    ),
    Mutant(
        "samples-site-binding-api",
        "the sample routes forget the device's site",
        "src/lianfang/screening/api.py",
        '            source="api",\n            site=device.site if device and device.site else None,\n',
        '            source="api",\n            site=None,\n',
        (DEVICE,),
    ),
    Mutant(
        "tube-of-other-site",
        "a site's device adds people to a tube registered at another site",
        "src/lianfang/screening/services/samples.py",
        "    if scoped:\n        decided = _foreign_tubes_refused(",
        "    if False:\n        decided = _foreign_tubes_refused(",
        (DEVICE,),
    ),
    Mutant(
        "town-reads-as-county",
        "a town or community jurisdiction is read as its whole county",
        "src/lianfang/accounts/scoping.py",
        "return cls(user=user, role=user.role, codes=codes_.outermost(codes), token_id=token_id, ip=ip)",
        "return cls(user=user, role=user.role, codes=codes_.outermost(c[:6] for c in codes), token_id=token_id, ip=ip)",
        (ROLES,),
    ),
    Mutant(
        "lookup-unscoped",
        "the ID-card lookup reads the whole registry",
        "src/lianfang/people/selectors.py",
        "def person_by_id_number(*, actor, id_type: str, id_number: str) -> Person | None:\n    return (\n        Person.objects.visible_to(actor)\n",
        "def person_by_id_number(*, actor, id_type: str, id_number: str) -> Person | None:\n    return (\n        Person.objects.dangerously_all()\n",
        (ROLES,),
    ),
    Mutant(
        "division-export-audit",
        "the registry export of a town or community writes no audit event",
        "src/lianfang/web/views.py",
        "        sheet=current.name,\n    )\n    audit_record(",
        "        sheet=current.name,\n    )\n    (lambda **kw: None)(",
        (AUDIT,),
    ),
    Mutant(
        "untested-export-audit",
        "the untested list's export writes no audit event",
        "src/lianfang/screening/views/areas.py",
        "        sheet=division.name or division.code,\n    )\n    audit_record(",
        "        sheet=division.name or division.code,\n    )\n    (lambda **kw: None)(",
        (AUDIT,),
    ),
    Mutant(
        "web-person-audit",
        "the person page writes no audit event",
        "src/lianfang/web/views.py",
        "    if person is None:\n        raise Http404\n    audit_record(",
        "    if person is None:\n        raise Http404\n    (lambda **kw: None)(",
        (AUDIT,),
    ),
    Mutant(
        "pool-members-audit",
        "the pool page (its members) writes no audit event",
        "src/lianfang/screening/views/pools.py",
        '    audit_record(\n        actor=actor,\n        action="view",\n        object_type="pool_members",',
        '    (lambda **kw: None)(\n        actor=actor,\n        action="view",\n        object_type="pool_members",',
        (AUDIT,),
    ),
    Mutant(
        "office-unmasked",
        "the command office sees full ID numbers, phones and addresses",
        "src/lianfang/accounts/roles.py",
        "UNMASKED_ROLES = frozenset({Role.TRACER, Role.TRANSFER, Role.ISOLATION, Role.COMMUNITY_WORKER})",
        "UNMASKED_ROLES = frozenset({Role.TRACER, Role.TRANSFER, Role.ISOLATION, Role.COMMUNITY_WORKER, Role.COMMAND_OFFICE})",
        (PAGES,),
    ),
    Mutant(
        "exempt-on-birthday",
        "a child exempt on the very day of the exempt age (>= for >)",
        "src/lianfang/analytics/status.py",
        'young = f"({birth_date} IS NOT NULL AND {birth_date} > {cutoff})"',
        'young = f"({birth_date} IS NOT NULL AND {birth_date} >= {cutoff})"',
        (EXEMPT,),
    ),
    Mutant(
        "report-exempt-age",
        "the round report uses an exempt age one year above the pages'",
        "src/lianfang/screening/report.py",
        "        exempt_under_years=rnd.protocol.screening.exempt_under_years,\n",
        "        exempt_under_years=rnd.protocol.screening.exempt_under_years + 1,\n",
        (EXEMPT,),
    ),
    Mutant(
        "inconclusive-not-abnormal",
        "an inconclusive pool counts as negative",
        "src/lianfang/analytics/status.py",
        'f"CASE WHEN {flags[POSITIVE]} OR {flags[INCONCLUSIVE]} THEN {out[ABNORMAL]} "',
        'f"CASE WHEN {flags[POSITIVE]} THEN {out[ABNORMAL]} "',
        ("tests/screening/test_status_rules.py",),
    ),
)


def snippet_count(mutant: Mutant, root: Path = ROOT) -> int:
    path = root / mutant.path
    return path.read_text(encoding="utf-8").count(mutant.original) if path.exists() else 0


def _tree_files(root: Path) -> list[str]:
    """The working tree as git sees it: tracked and untracked files, ignored ones left out."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout
    return [f for f in out.decode().split("\0") if f and (root / f).is_file()]


def _copy_tree(root: Path, scratch: Path) -> None:
    for name in _tree_files(root):
        target = scratch / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)


def _pytest(scratch: Path, tests: tuple[str, ...]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LIANFANG_DATABASE_URL"}  # SQLite
    env["PYTHONPATH"] = str(scratch / "src")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
    )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:100] if lines else ""


def run(mutants: list[Mutant]) -> int:
    errors = [m for m in mutants if snippet_count(m) != 1]
    for m in errors:
        print(f"ERROR {m.name}: its snippet occurs {snippet_count(m)} times in {m.path} (must be once)")
    mutants = [m for m in mutants if m not in errors]
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="lianfang-mutants-") as tmp:
        scratch = Path(tmp)
        _copy_tree(ROOT, scratch)
        where = subprocess.run(
            [sys.executable, "-c", "import lianfang; print(lianfang.__file__)"],
            cwd=scratch,
            env={**os.environ, "PYTHONPATH": str(scratch / "src")},
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not where.startswith(str(scratch)):
            print(f"ERROR: the scratch copy imports lianfang from {where}, not from {scratch}")
            return 2
        # The tests must pass without any mutant, or "caught" means nothing.
        all_tests = tuple(sorted({t for m in mutants for t in m.tests}))
        started = time.monotonic()
        baseline = _pytest(scratch, all_tests)
        if baseline.returncode != 0:
            print(f"ERROR: the mutants' tests fail without any mutant:\n{baseline.stdout[-3000:]}")
            return 2
        print(f"baseline: {_last_line(baseline.stdout)} ({time.monotonic() - started:.0f} s)", flush=True)
        for m in mutants:
            path = scratch / m.path
            pristine = path.read_text(encoding="utf-8")
            path.write_text(pristine.replace(m.original, m.replacement, 1), encoding="utf-8")
            started = time.monotonic()
            try:
                proc = _pytest(scratch, m.tests)
            finally:
                path.write_text(pristine, encoding="utf-8")
            # 1: a test failed (caught); 0: all passed (missed); else the run broke (an error).
            verdict = {0: "MISSED", 1: "caught"}.get(proc.returncode, f"error rc={proc.returncode}")
            seconds = f"{time.monotonic() - started:.0f}s"
            rows.append((m.name, verdict, seconds, m.bug))
            print(f"  {verdict:8} {seconds:>5}  {m.name}", flush=True)
            if proc.returncode not in (0, 1):
                print(_last_line(proc.stdout + proc.stderr))
    width = max((len(r[0]) for r in rows), default=10)
    print()
    print(f"{'mutant':{width}}  {'verdict':8}  bug")
    for name, verdict, _s, bug in rows:
        print(f"{name:{width}}  {verdict:8}  {bug}")
    caught = sum(1 for r in rows if r[1] == "caught")
    print(f"\n{caught}/{len(rows) + len(errors)} caught", end="")
    print(f", {len(errors)} with a stale snippet" if errors else "")
    return 0 if caught == len(rows) and not errors else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only mutants whose name contains one of these")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument(
        "--tests",
        nargs="+",
        help="run these tests for every mutant instead of its own (what else catches it?)",
    )
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.names or any(n in m.name for n in args.names)]
    if args.tests:
        chosen = [dataclasses.replace(m, tests=tuple(args.tests)) for m in chosen]
    if args.list:
        for m in chosen:
            print(f"{m.name:28} {m.path}: {m.bug}")
        return 0
    if not chosen:
        print("no mutant matches")
        return 2
    return run(chosen)


if __name__ == "__main__":
    sys.exit(main())
