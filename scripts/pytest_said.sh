#!/usr/bin/env bash
# Run pytest (the arguments are its command line). A pytest killed by a signal (a crash in native
# code: SIGABRT, SIGSEGV) writes no report of its own, and CI keeps only the end of the output:
# then say which test had started last (tests/conftest.py writes it to var/last-test) and print
# the head of each thread's stack from the fault handler's dump (var/faulthandler.log), innermost
# frames first, so the crashing thread and its library show in what CI keeps.
"$@"
status=$?
if [ "$status" -ge 128 ]; then
  if [ -f var/faulthandler.log ]; then
    echo "--- the fault handler's dump, each thread's 8 innermost frames (whole: var/faulthandler.log)" >&2
    awk '/^(Fatal Python error|Current thread|Thread 0x)/ {n = 0; print; next}
         /^  File / {if (n++ < 8) print; next}
         NF {print}' var/faulthandler.log | grep -v "^Extension modules" | head -120 >&2
  fi
  if [ -f var/last-test ]; then
    echo "pytest died of signal $((status - 128)) during: $(cat var/last-test)" >&2
  fi
fi
exit "$status"
