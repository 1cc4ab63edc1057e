"""scripts/mutants.py's list does not rot: every mutant's snippet is still in the source, once."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("mutants", ROOT / "scripts" / "mutants.py")
mutants = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("mutants", mutants)  # dataclasses look their module up
_spec.loader.exec_module(mutants)


@pytest.mark.parametrize("mutant", mutants.MUTANTS, ids=lambda m: m.name)
def test_each_mutant_applies_to_exactly_one_place(mutant):
    assert mutants.snippet_count(mutant) == 1, (
        f"{mutant.name}: its snippet occurs {mutants.snippet_count(mutant)} times in {mutant.path}; "
        "find the bug's line today and update scripts/mutants.py"
    )
    assert mutant.replacement != mutant.original


@pytest.mark.parametrize("mutant", mutants.MUTANTS, ids=lambda m: m.name)
def test_each_mutant_names_tests_that_exist(mutant):
    assert mutant.tests
    for node in mutant.tests:
        assert (ROOT / node.split("::")[0]).is_file(), f"{mutant.name}: no test file {node}"


def test_mutant_names_are_unique_and_the_issue_bugs_are_listed():
    names = [m.name for m in mutants.MUTANTS]
    assert len(names) == len(set(names))
    issue17 = [m for m in mutants.MUTANTS if m.bug.startswith("#")]
    assert sorted(m.bug.split()[0] for m in issue17) == [f"#{i}" for i in range(1, 9)]
