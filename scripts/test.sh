#!/usr/bin/env bash
# Runs the whole test suite against a throwaway PostgreSQL cluster (unix
# socket only) that this script starts and removes again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build --build-tests 2>&1 | tail -n 3

home=$(mktemp -d /tmp/recsys-test.XXXXXX)
chmod 755 "$home"   # the server runs as the unprivileged postgres user when we are root
cleanup() {
  RECSYS_HOME="$home" .build/debug/recsys db stop >/dev/null 2>&1 || true
  rm -rf "$home"
}
trap cleanup EXIT
RECSYS_HOME="$home" .build/debug/recsys db start
socket=$(RECSYS_HOME="$home" .build/debug/recsys db status --json | sed -n 's/.*"socket_directory" : "\(.*\)".*/\1/p')
export RECSYS_TEST_PG="host=$socket port=5432 user=recsys"
echo "test server: $RECSYS_TEST_PG"

# XCTest only: the suite has no Swift Testing tests, whose empty summary would
# otherwise be the last line printed.
swift test --skip-build --disable-swift-testing "$@"
