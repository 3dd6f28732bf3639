#!/usr/bin/env bash
# Marathon API benchmark (issue 9): N apps x 3 tasks on the local testbed (kwok runs the pods),
# the release operator serving the facade on loopback, `oha` as the load generator.
#
#   bench/facade.sh [--apps N] [--duration 15s] [--runs 3] [--list-connections 2]
#                   [--get-connections 32] [--keep] [--reuse] [--binary PATH]
#
# Reports the median over --runs of: p50/p99 latency of GET /v2/apps?embed=apps.tasks (target:
# p99 <= 20 ms), requests/s of GET /v2/apps/{id} over every app (target: >= 10,000/s), and the
# operator's RSS (VmRSS, VmHWM from /proc) with the caches full; each next to its target.
#
# Apps are created through the facade itself (POST /v2/apps, 8 at a time). The testbed is
# started when it is not running (and stopped again afterwards, unless it was running before);
# the bench namespace, its apps and the extra fake nodes are removed at the end. --keep leaves
# them (and the testbed) in place; a later run with --reuse measures a new build against them
# instead of creating the apps again. Environment: KUBECONFIG (a running cluster to use
# instead of the testbed), TESTBED_DIR, MARATHON_OPERATOR_CACHE (oha goes into its tools/),
# CARGO_TARGET_DIR. --binary runs a given build of the operator instead of `cargo build --release`.
set -euo pipefail

APPS=1000
INSTANCES=3
DURATION=15s
RUNS=3
LIST_CONNECTIONS=2
GET_CONNECTIONS=32
KEEP=0
REUSE=0
BINARY=
P99_TARGET_MS=20
RPS_TARGET=10000
OHA_VERSION=1.16.0

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --apps) APPS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --list-connections) LIST_CONNECTIONS=$2; shift 2 ;;
    --get-connections) GET_CONNECTIONS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --reuse) REUSE=1; shift ;;
    --binary) BINARY=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done
[[ $APPS =~ ^[1-9][0-9]*$ ]] || { echo "--apps needs a positive number" >&2; exit 2; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MARATHON_OPERATOR_CACHE:-$HOME/.cache/marathon-operator}
TOOLS=$CACHE/tools
OHA=$TOOLS/bin/oha
NS=bench-facade
WORK=$(mktemp -d)
OPERATOR_PID=
STARTED_TESTBED=0
BENCH_NODES=()

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cleanup() {
  local status=$?
  if [ -n "$OPERATOR_PID" ] && kill -0 "$OPERATOR_PID" 2>/dev/null; then
    kill -TERM "$OPERATOR_PID" 2>/dev/null || true
    wait "$OPERATOR_PID" 2>/dev/null || true
  fi
  if [ "$KEEP" = 1 ]; then
    log "--keep: namespace $NS, its apps and the bench nodes stay; rerun with --reuse"
  elif [ "$STARTED_TESTBED" = 1 ]; then
    "$REPO/scripts/testbed" down >/dev/null 2>&1 || true
  elif [ -n "${KUBECONFIG:-}" ]; then
    kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
    for node in "${BENCH_NODES[@]}"; do kubectl delete node "$node" --wait=false >/dev/null 2>&1 || true; done
  fi
  if [ $status -eq 0 ]; then rm -rf "$WORK"; else log "logs kept in $WORK"; fi
}
trap cleanup EXIT

install_oha() {
  [ -x "$OHA" ] && return 0
  log "installing oha $OHA_VERSION into $TOOLS (cargo install, once)"
  cargo install oha --version "$OHA_VERSION" --locked --root "$TOOLS" >&2
}

start_testbed() {
  if [ -n "${KUBECONFIG:-}" ] && kubectl --kubeconfig "$KUBECONFIG" get --raw=/readyz >/dev/null 2>&1; then
    log "using the cluster of KUBECONFIG=$KUBECONFIG"
  else
    "$REPO/scripts/testbed" status >/dev/null 2>&1 || STARTED_TESTBED=1
    KUBECONFIG=$("$REPO/scripts/testbed" up | tail -n 1)
  fi
  export KUBECONFIG
  eval "$("$REPO/scripts/testbed" env | grep '^export PATH=')"
}

# The testbed's two fake nodes take 500 pods each; add kwok-managed nodes for the rest.
add_nodes() {
  local count=$(((APPS * INSTANCES + 999) / 1000)) i name
  for ((i = 0; i < count; i++)); do BENCH_NODES+=("bench-node-$i"); done
  for name in "${BENCH_NODES[@]}"; do
    cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {type: kwok, kubernetes.io/hostname: $name, kubernetes.io/os: linux, kubernetes.io/arch: amd64}
status:
  allocatable: {cpu: "1000", memory: 4Ti, pods: "1000", ephemeral-storage: 1Ti}
  capacity: {cpu: "1000", memory: 4Ti, pods: "1000", ephemeral-storage: 1Ti}
---
EOF
  done | kubectl apply -f - >/dev/null
  kubectl wait --for=condition=Ready "${BENCH_NODES[@]/#/node/}" --timeout=60s >/dev/null
}

start_operator() {
  kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS" >/dev/null
  "$BINARY" run --testbed=never --leader-election=false \
    --install-crds=true --auth=off --log-format=json --namespace "$NS" --watch-namespace "$NS" \
    --api-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 \
    >"$WORK/operator.log" 2>&1 &
  OPERATOR_PID=$!
  local deadline=$((SECONDS + 60))
  until URL=$(grep -o '"url":"http://[^"]*"' "$WORK/operator.log" | head -n 1 | cut -d'"' -f4) && [ -n "$URL" ]; do
    kill -0 "$OPERATOR_PID" 2>/dev/null || die "the operator stopped: $(tail -n 5 "$WORK/operator.log")"
    [ $SECONDS -lt $deadline ] || die "the operator did not start its API within 60 s"
    sleep 0.2
  done
  until grep -q 'controllers are reconciling' "$WORK/operator.log"; do
    [ $SECONDS -lt $deadline ] || die "the operator's caches did not sync within 60 s"
    sleep 0.2
  done
  log "operator pid $OPERATOR_PID, Marathon API at $URL"
}

LAST=$((APPS - 1))
WIDTH=${#LAST}
app_id() { printf '/bench/app-%0*d' "$WIDTH" "$1"; }

create_app() {
  local id body code
  id=$(app_id "$1")
  body=$(printf '{"id":"%s","instances":%d,"cpus":0.01,"mem":16,
    "container":{"type":"DOCKER","docker":{"image":"nginx:1.27"},
      "portMappings":[{"containerPort":80,"name":"http"}]},
    "networks":[{"mode":"container/bridge"}],
    "healthChecks":[{"protocol":"MESOS_HTTP","path":"/","portIndex":0}],
    "env":{"MODE":"bench"},"labels":{"team":"bench","tier":"web"}}' "$id" "$INSTANCES")
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data "$body" "$URL/v2/apps")
  [ "$code" = 201 ] || { echo "POST $id answered $code" >&2; return 1; }
}
export -f create_app app_id
export URL WIDTH INSTANCES

create_apps() {
  local started=$SECONDS
  seq 0 $((APPS - 1)) | xargs -P 8 -I{} bash -c 'create_app {}' ||
    die "creating the apps failed"
  log "$APPS apps created through POST /v2/apps in $((SECONDS - started)) s"
}

running_tasks() {
  curl -sf "$URL/v2/apps" | jq '[.apps[].tasksRunning] | add // 0'
}

wait_for_tasks() {
  local want=$((APPS * INSTANCES)) started=$SECONDS running=0
  while :; do
    running=$(running_tasks || echo 0)
    [ "$running" -ge "$want" ] && break
    [ $((SECONDS - started)) -lt 1800 ] || die "only $running of $want tasks running after 30 min"
    log "$running of $want tasks running"
    sleep 10
  done
  log "all $want tasks running $((SECONDS - started)) s after the last POST"
}

# oha's JSON summary of one run, as "p50_ms p99_ms requests_per_s ok" (ok: 1 when every
# request was answered, and answered 200).
oha_run() {
  "$OHA" --no-tui --output-format json -z "$DURATION" "$@" |
    jq -r '[.metrics.latency_ms.p50, .metrics.latency_ms.p99, .summary.requestsPerSec,
            (if .summary.successRate == 1 and (.statusCodeDistribution | keys) == ["200"]
             then 1 else 0 end)] | @tsv'
}

# The URLs oha draws from: the first 10^k apps, k the most that exist.
app_url_regex() {
  local k=$((${#APPS} - 1)) zeros=
  [ "$WIDTH" -gt "$k" ] && zeros=$(printf '%0*d' $((WIDTH - k)) 0)
  if [ "$k" -eq 0 ]; then
    printf '%s/v2/apps/bench/app-%s' "$URL" "$zeros"
  else
    printf '%s/v2/apps/bench/app-%s[0-9]{%d}' "$URL" "$zeros" "$k"
  fi
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

measure() {
  local list_url="$URL/v2/apps?embed=apps.tasks" get_regex i
  get_regex=$(app_url_regex)
  curl -sf "$list_url" -o "$WORK/list.json"
  LIST_BYTES=$(stat -c %s "$WORK/list.json")
  LIST_TASKS=$(jq '[.apps[].tasks | length] | add' "$WORK/list.json")
  [ "$LIST_TASKS" -ge $((APPS * INSTANCES)) ] || die "the list shows $LIST_TASKS tasks"
  curl -sf "$(printf '%s/v2/apps%s' "$URL" "$(app_id 0)")" >/dev/null || die "GET of one app failed"
  : >"$WORK/list.tsv"; : >"$WORK/get.tsv"
  for ((i = 1; i <= RUNS; i++)); do
    oha_run -c "$LIST_CONNECTIONS" "$list_url" >>"$WORK/list.tsv"
    oha_run -c "$GET_CONNECTIONS" --rand-regex-url "$get_regex" >>"$WORK/get.tsv"
    log "run $i: list $(tail -n 1 "$WORK/list.tsv" | tr '\t' ' '); get $(tail -n 1 "$WORK/get.tsv" | tr '\t' ' ')"
  done
  awk '$4 < 1 {bad = 1} END {exit bad}' "$WORK/list.tsv" "$WORK/get.tsv" ||
    die "some requests failed or were not answered 200: see $WORK/*.tsv"
}

rss_mib() { awk -v key="$1:" '$1 == key {printf "%.1f", $2 / 1024}' "/proc/$OPERATOR_PID/status"; }

report() {
  local p50 p99 rps
  p50=$(cut -f1 "$WORK/list.tsv" | median)
  p99=$(cut -f2 "$WORK/list.tsv" | median)
  rps=$(cut -f3 "$WORK/get.tsv" | median)
  cat <<EOF

Marathon API benchmark: $APPS apps x $INSTANCES tasks, $(nproc) cores, median of $RUNS runs of $DURATION each
GET /v2/apps?embed=apps.tasks  ($LIST_CONNECTIONS connections, $LIST_BYTES bytes, $LIST_TASKS tasks)
  p50 $(printf '%.2f' "$p50") ms
  p99 $(printf '%.2f' "$p99") ms   target <= $P99_TARGET_MS ms   ratio p99/target $(awk -v a="$p99" -v b="$P99_TARGET_MS" 'BEGIN {printf "%.2f", a / b}')
GET /v2/apps/{id}  ($GET_CONNECTIONS connections, ids drawn from $(app_url_regex | sed 's|.*/v2/apps||'))
  $(printf '%.0f' "$rps") requests/s   target >= $RPS_TARGET/s   ratio rps/target $(awk -v a="$rps" -v b="$RPS_TARGET" 'BEGIN {printf "%.2f", a / b}')
operator RSS with the caches full: VmRSS $(rss_mib VmRSS) MiB, peak (VmHWM) $(rss_mib VmHWM) MiB
EOF
}

main() {
  start_testbed
  if [ -z "$BINARY" ]; then
    log "building the release binary"
    (cd "$REPO" && cargo build --release >&2)
    BINARY=${CARGO_TARGET_DIR:-$REPO/target}/release/marathon-operator
  fi
  local reusing=0
  if kubectl get namespace "$NS" >/dev/null 2>&1; then
    if [ "$REUSE" = 1 ]; then
      reusing=1
    else
      log "removing the namespace $NS of an earlier run"
      kubectl delete namespace "$NS" --timeout=300s >/dev/null
    fi
  fi
  add_nodes
  start_operator
  if [ "$reusing" = 1 ]; then
    log "--reuse: measuring the apps of the earlier run"
  else
    create_apps
  fi
  wait_for_tasks
  install_oha
  measure
  report
}

main
