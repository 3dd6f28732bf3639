#!/usr/bin/env bash
# Translation against dcos-migrate (issue 16): marathon-operator `convert` and dcos-migrate's own
# Marathon translator (D2iQ, github.com/d2iq-ps/dcos-migrate @ e3e3f97, Apache-2.0) on the same
# apps, end to end (JSON text in, Kubernetes YAML out), with medians and ratios.
#
#   bench/dcos-migrate.sh [--apps N] [--runs R] [--binary PATH]
#
# dcos-migrate's code never enters this repository: it is cloned at run time into
# $MARATHON_OPERATOR_CACHE/dcos-migrate-e3e3f97 (default ~/.cache/marathon-operator), or taken
# from DCOS_MIGRATE_SRC=<dir> when set. A venv with PyYAML and pytest goes beside it. Before
# measuring, the script runs dcos-migrate's own translator tests against that code and the
# driver checks its output on the fixture apps against ../shared/migration-fixtures/dcos-migrate.
#
# The apps: the distinct Marathon apps of ../shared/marathon-examples and
# ../shared/migration-fixtures/dcos-migrate that both tools translate without error, repeated
# with varied ids into an N-app /v2/apps dump (default 10,000). marathon-operator is
# MARATHON_OPERATOR_BIN or --binary (default target/release/marathon-operator, built with
# `cargo build --release` when missing). Not run in CI.
set -euo pipefail

APPS=10000
RUNS=3
BINARY=${MARATHON_OPERATOR_BIN:-}
COMMIT=e3e3f97db5feca148ce5ac0b5e8519cdedc0aac0
REPO_URL=https://github.com/d2iq-ps/dcos-migrate

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --apps) APPS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --binary) BINARY=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done
[[ $APPS =~ ^[1-9][0-9]*$ ]] || { echo "--apps needs a positive number" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs needs a positive number" >&2; exit 2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the repository or the dcos-migrate tree
CACHE=${MARATHON_OPERATOR_CACHE:-$HOME/.cache/marathon-operator}
VENV=$CACHE/venv-dcos-migrate
SHARED=$REPO/../shared
TRANSLATOR=src/dcos_migrate/plugins/marathon/app_translator.py

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# dcos-migrate's source at $COMMIT: DCOS_MIGRATE_SRC, or a clone in the cache.
dcos_migrate_source() {
  if [ -n "${DCOS_MIGRATE_SRC:-}" ]; then
    [ -f "$DCOS_MIGRATE_SRC/$TRANSLATOR" ] || die "DCOS_MIGRATE_SRC=$DCOS_MIGRATE_SRC has no $TRANSLATOR"
    SRC=$(cd "$DCOS_MIGRATE_SRC" && pwd)
    return
  fi
  SRC=$CACHE/dcos-migrate-${COMMIT:0:7}
  if [ ! -f "$SRC/$TRANSLATOR" ]; then
    log "cloning $REPO_URL into $SRC"
    rm -rf "$SRC.tmp"
    git clone --quiet "$REPO_URL" "$SRC.tmp" || die "cannot clone $REPO_URL (set DCOS_MIGRATE_SRC)"
    git -C "$SRC.tmp" checkout --quiet "$COMMIT"
    mv "$SRC.tmp" "$SRC"
  fi
  if [ -d "$SRC/.git" ]; then
    [ "$(git -C "$SRC" rev-parse HEAD)" = "$COMMIT" ] || die "$SRC is not at $COMMIT"
  else
    log "$SRC is not a git checkout (reconstructed source); its tests and fixtures decide"
  fi
}

# PyYAML (the translator's only third-party import) and pytest, in a venv in the cache.
python_venv() {
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import yaml, pytest' 2>/dev/null; then
    log "creating $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet 'PyYAML==6.0.4' 'pytest==9.2.0'
  fi
}

# dcos-migrate's own translator tests, against the code about to be measured (--noconftest:
# its tests/conftest.py sets up DC/OS end-to-end clusters, which these tests do not use).
upstream_tests() {
  local state_dir_existed=0
  [ -e "$SRC/dcos-migrate" ] && state_dir_existed=1
  log "running dcos-migrate's translator tests (tests/test_marathon/test_app_transtalor)"
  (cd "$SRC" && DCOS_MIGRATE_SRC="$SRC" PYTHONPATH="$REPO/bench/dcos_migrate" \
    "$VENV/bin/python" -m pytest -q --noconftest -p no:cacheprovider -p dcos_migrate_shim \
    tests/test_marathon/test_app_transtalor) >&2 || die "dcos-migrate's tests fail on $SRC"
  # test_stateful_copy writes its artifacts under ./dcos-migrate.
  [ "$state_dir_existed" = 1 ] || rm -rf "$SRC/dcos-migrate"
}

marathon_operator_binary() {
  if [ -z "$BINARY" ]; then
    BINARY=${CARGO_TARGET_DIR:-$REPO/target}/release/marathon-operator
    if [ ! -x "$BINARY" ]; then
      log "building $BINARY"
      (cd "$REPO" && cargo build --release --quiet)
    fi
  fi
  [ -x "$BINARY" ] || die "no marathon-operator binary at $BINARY"
  BINARY=$(cd "$(dirname "$BINARY")" && pwd)/$(basename "$BINARY")
}

[ -d "$SHARED/marathon-examples" ] || die "$SHARED/marathon-examples is missing"
dcos_migrate_source
python_venv
upstream_tests
marathon_operator_binary
log "machine: $(nproc) cores, $(uptime)"
log "marathon-operator: $BINARY; dcos-migrate: $SRC"
PYTHONPATH="$REPO/bench/dcos_migrate" exec "$VENV/bin/python" "$REPO/bench/dcos_migrate/compare.py" \
  --src "$SRC" --binary "$BINARY" --shared "$SHARED" --apps "$APPS" --runs "$RUNS"
