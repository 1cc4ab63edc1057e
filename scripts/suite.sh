#!/usr/bin/env bash
# The whole test suite, as three pytest processes (the arguments: the Python to run pytest with):
#   1. everything but the browser and Spark tests;
#   2. the browser tests (Playwright keeps a Node driver, an event loop and greenlets in its process);
#   3. the Spark tests (pyspark keeps a JVM, its gateway and a callback thread beside its process).
# Each foreign runtime lives only in a process of its own, so nothing it leaves behind can touch the
# rest of the suite; each part runs even when an earlier one failed, and the suite fails if any did.
set -u
python=$1
shift
status=0
for selection in "not browser and not spark" "browser" "spark"; do
  echo "=== pytest -m \"$selection\"" >&2
  bash scripts/pytest_said.sh "$python" -m pytest -q -m "$selection" "$@"
  part=$?  # 5, nothing collected, is a failure too: a selection that went empty tests nothing
  if [ "$part" -ne 0 ]; then
    status=$part
  fi
done
exit "$status"
