#!/usr/bin/env bash
# Run pytest (the arguments are its command line). A pytest killed by a signal (a crash in native
# code: SIGABRT, SIGSEGV) writes no report of its own, and CI keeps only the end of the output:
# then say which test had started last (tests/conftest.py writes it to var/last-test).
"$@"
status=$?
if [ "$status" -ge 128 ] && [ -f var/last-test ]; then
  echo "pytest died of signal $((status - 128)) during: $(cat var/last-test)" >&2
fi
exit "$status"
