#!/usr/bin/env bash
# Runs the whole workspace's tests (unit, integration, CLI, doc tests) against PostgreSQL 15, then
# 17, each on the test kit's two flavours (hosted Supabase, then plain self-hosted PostgreSQL): the
# command CI runs (.ci/run) and the one to run before pushing.
#
#   bash scripts/test.sh                              # both versions, both flavours
#   bash scripts/test.sh 17                           # one version, both flavours
#   COTENANT_TEST_FLAVORS=supabase bash scripts/test.sh 15   # one combination
#
# Needs what scripts/setup.sh installs (PostgreSQL 15 and 17 binaries, moto). Every combination runs
# even when an earlier one failed; the script fails if any did, naming them.
set -euo pipefail
cd "$(dirname "$0")/.."

versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
    versions=(15 17)
fi
read -r -a flavors <<<"${COTENANT_TEST_FLAVORS:-supabase plain}"
# --no-fail-fast: one failing test binary must not hide the results of the others.
cargo_test=(cargo test --workspace --all-features --no-fail-fast)

header() { printf '\n=== %s ===\n\n' "$*"; }

# Build every test binary once: the runs below only execute them.
header "building the tests: ${cargo_test[*]} --no-run"
"${cargo_test[@]}" --no-run

# Tests that need PgBouncer (tests/pooler.rs, the test kit's own) pass with a "skipped" line when it
# is missing: say so here, where it cannot be missed.
if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ] && [ -z "${COTENANT_PGBOUNCER:-}" ]; then
    echo "test.sh: WARNING: pgbouncer is not installed: the transaction-pooler tests will be SKIPPED (run scripts/setup.sh)" >&2
fi

failed=()
for version in "${versions[@]}"; do
    for flavor in "${flavors[@]}"; do
        combination="PostgreSQL $version, $flavor flavour"
        header "$combination: COTENANT_TEST_PG=$version COTENANT_TEST_FLAVOR=$flavor ${cargo_test[*]}"
        started=$SECONDS
        if COTENANT_TEST_PG=$version COTENANT_TEST_FLAVOR=$flavor "${cargo_test[@]}"; then
            header "$combination: passed in $((SECONDS - started)) s"
        else
            header "$combination: FAILED after $((SECONDS - started)) s"
            failed+=("$version/$flavor")
        fi
    done
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "test.sh: tests failed on ${failed[*]} (PostgreSQL version/flavour)" >&2
    exit 1
fi
echo "test.sh: all tests passed on PostgreSQL ${versions[*]} x flavours ${flavors[*]}"
