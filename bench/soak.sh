#!/usr/bin/env bash
# The full soak of issue 16: 1,000 apps and 3,000 tasks on a private testbed, with a steady mix
# of Marathon API reads and writes and pod churn for 10 minutes. Prints the operator's RSS
# (start, peak, end, every 30 s) and p50/p99 latency of reads and writes per 30 s window, and
# fails on any unexpected error response. CI runs the same test at its reduced size
# (100 apps, 2 minutes) as part of `cargo test`.
#
#   bench/soak.sh              # full size, the debug operator `cargo test` builds
#   bench/soak.sh --release    # full size, the release operator (`cargo build --release`)
#   SOAK_FULL=0 bench/soak.sh  # the CI size
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export SOAK_FULL=${SOAK_FULL:-1}
if [[ "${1:-}" == "--release" ]]; then
  cargo build --release --locked
  export MARATHON_OPERATOR_BIN="$PWD/target/release/marathon-operator"
fi
exec cargo test --test faults_soak -- --nocapture
