#!/usr/bin/env bash
# Installs what is missing (scripts/ensure-deps.sh), builds the release binary
# and prints its absolute path: `recsys=$(scripts/build-release.sh)`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh >&2
swift build -c release --product recsys 2>&1 | tail -n 1 >&2
echo "$PWD/.build/release/recsys"
