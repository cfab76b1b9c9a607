#!/usr/bin/env bash
# Issue 10's item 5 in CI: the end-to-end suites of what a user sees (runs and their options,
# lifecycle, deploy, lookup, schedules, web endpoints) against `stubrun server --queue` with a
# Redis of its own and two `stubrun worker` nodes (test/e2e/queue-mode-env.ts).
# `npm run test:queue -- --all` runs every e2e suite in queue mode instead (longer than CI's budget
# allows beside `npm test` on 2 cores); the suites here are those item 5 names, and the runs' own.
set -euo pipefail
cd "$(dirname "$0")/.."
export STUBRUN_TEST_QUEUE=1
if [ "${1:-}" = "--all" ]; then
  shift
  exec npx jest test/e2e "$@"
fi
exec npx jest \
  test/e2e/entrypoints.test.ts test/e2e/containers.test.ts test/e2e/options.test.ts test/e2e/failures.test.ts \
  test/e2e/streaming-map.test.ts test/e2e/generators.test.ts test/e2e/secrets.test.ts \
  test/e2e/lifecycle.test.ts test/e2e/deploy.test.ts test/e2e/lookup.test.ts test/e2e/schedules.test.ts \
  test/e2e/web-endpoints.test.ts test/e2e/web-responses.test.ts "$@"
