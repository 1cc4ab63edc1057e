#!/usr/bin/env bash
# Run a command with LIANFANG_DATABASE_URL pointing at PostgreSQL, if one answers.
# Outside CI a missing server skips the PostgreSQL run with a warning; in CI it is a failure.
set -euo pipefail
url="$1"; shift
if python3 - "$url" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
try:
    socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), timeout=3).close()
except OSError:
    sys.exit(1)
PY
then
  LIANFANG_DATABASE_URL="$url" exec "$@"
fi
if [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not reachable at $url: in CI the PostgreSQL suite may not be skipped" >&2
  exit 1
fi
echo "WARNING: PostgreSQL not reachable at $url; the PostgreSQL run is skipped (set PG_URL=...)" >&2
