#!/usr/bin/env bash
# Fails when the generated protobuf code committed in packages/proto/src/gen (from proto/) or in
# packages/e2e/src/gen (from packages/e2e/proto, etcd's API for the comparison) is not exactly what
# `npm run generate` produces (a .proto changed without regenerating, or the reverse).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent generate
if [ -n "$(git status --porcelain -- packages/proto/src/gen packages/e2e/src/gen)" ]; then
  echo "generated protobuf code is stale; run 'npm run generate' and commit the result:" >&2
  git status --short -- packages/proto/src/gen packages/e2e/src/gen >&2
  git diff --stat -- packages/proto/src/gen packages/e2e/src/gen >&2
  exit 1
fi
echo "generated protobuf code is up to date"
