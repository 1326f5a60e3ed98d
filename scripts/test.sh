#!/usr/bin/env bash
# Format+lint, types, the import rules (docs/architecture.md), then every test file with node's test runner through tsx.
# The database suites run on PGlite and, when one answers, on the PostgreSQL server
# (QOELAB_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
npx biome check .
npx tsc --noEmit
npx tsc --noEmit -p tsconfig.browser.json
npx tsx scripts/check-arch.ts
if [ -z "${QOELAB_TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  export QOELAB_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
fi
run_tests() { node --import tsx --test --test-timeout=900000 "$@"; }
if [ "$#" -gt 0 ]; then
  run_tests --test-concurrency=2 "$@"
  exit
fi
# Files that measure time on the wire (added delay, shaped rates) run alone at the end, so another
# test's CPU load (chromium, PESQ) cannot blur what they measure.
serial=(src/netlab/link-emulator/link-emulator.test.ts src/netlab/impair/impair.test.ts src/generator/udp.test.ts src/generator/capture-replay.test.ts src/e2e/rtp-sender.test.ts src/e2e/collection-trace.test.ts src/flows/tstat-lab.test.ts)
mapfile -t all < <(find src -name '*.test.ts' | sort)
parallel=()
for f in "${all[@]}"; do
  skip=""
  for s in "${serial[@]}"; do [ "$f" = "$s" ] && skip=1; done
  [ -z "$skip" ] && parallel+=("$f")
done
status=0
run_tests --test-concurrency=2 "${parallel[@]}" || status=$?
run_tests --test-concurrency=1 "${serial[@]}" || status=$?
exit "$status"
