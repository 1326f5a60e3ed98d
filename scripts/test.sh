#!/usr/bin/env bash
# Format+lint, types, then every test file with node's test runner through tsx.
# The database suites run on PGlite and, when one answers, on the PostgreSQL server
# (QOELAB_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
npx biome check .
npx tsc --noEmit
if [ -z "${QOELAB_TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  export QOELAB_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
fi
mapfile -t files < <(find src -name '*.test.ts' | sort)
if [ "$#" -gt 0 ]; then files=("$@"); fi
exec node --import tsx --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
