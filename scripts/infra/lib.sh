# shellcheck shell=bash
# Shared helpers for scripts/infra/*.sh. Sourced, never run.
#
# Layout (all git-ignored, under <repo>/.cache/infra/):
#   bin/         cached binaries (minio, mc)
#   venv/        Python venv for the KServe server and the Qdrant shim
#   <server>/    data, config, pid file and log of one server
#
# A server is "ours" when <server>/<server>.pid names a live process with the same kernel start
# time as the one we started (so a pid reused after a reboot is never mistaken for ours); stop
# only ever signals that pid and its process group.

INFRA_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$INFRA_SCRIPTS_DIR/../.." && pwd)"
INFRA_CACHE="${ADSEED_INFRA_CACHE:-$REPO_ROOT/.cache/infra}"
# shellcheck disable=SC2034 # used by the scripts that source this file
INFRA_BIN="$INFRA_CACHE/bin"
INFRA_VENV="$INFRA_CACHE/venv"

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "${INFRA_NAME:-infra}" "$*" >&2; }
die() { printf '[%s %s] ERROR: %s\n' "$(date +%H:%M:%S)" "${INFRA_NAME:-infra}" "$*" >&2; exit 1; }

require_cmd() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is not on PATH; install it (see scripts/infra/README.md)"
  done
}

# pid_file <name> -> path of the pid file for server <name>
pid_file() { printf '%s/%s/%s.pid' "$INFRA_CACHE" "$1" "$1"; }

# proc_start_time <pid>: the process's start time in clock ticks since boot (field 22 of
# /proc/<pid>/stat, counted after the parenthesised command name, which may contain spaces).
proc_start_time() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  # After "pid (comm) ", state is field 3, so starttime (22) is the 20th word here.
  awk '{ print $20 }' <<<"$stat"
}

# running_pid <name>: prints the pid and returns 0 if our recorded process is alive.
running_pid() {
  local file pid started now
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 1
  read -r pid started <"$file" || true
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  now="$(proc_start_time "$pid")" || return 1
  [[ "$now" == "$started" ]] || return 1
  printf '%s' "$pid"
}

# port_open <port>: true when something accepts TCP connections on 127.0.0.1:<port>.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# fail_if_port_taken <port> <what>: refuse to start over a foreign process.
fail_if_port_taken() {
  if port_open "$1"; then
    die "port 127.0.0.1:$1 ($2) is already in use by a process these scripts did not start; stop it or free the port"
  fi
}

# start_daemon <name> <log> <cmd...>: run cmd detached in its own session (own process group),
# record its pid. setsid lets stop signal the whole group (e.g. Triton under pytriton).
start_daemon() {
  local name="$1" logfile="$2"
  shift 2
  mkdir -p "$(dirname "$(pid_file "$name")")"
  log "starting: $* (log: $logfile)"
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  local pid=$!
  echo "$pid $(proc_start_time "$pid")" >"$(pid_file "$name")"
}

# wait_until <timeout_s> <description> <name> <cmd...>: poll cmd every 0.5 s until it succeeds;
# fail early if the server process <name> died, and late with the description on timeout.
wait_until() {
  local timeout="$1" what="$2" name="$3"
  shift 3
  local deadline=$((SECONDS + timeout))
  while ! "$@" >/dev/null 2>&1; do
    if ! running_pid "$name" >/dev/null; then
      die "$name exited before $what; last log lines:
$(tail -n 30 "$INFRA_CACHE/$name/$name.log" 2>/dev/null)"
    fi
    if ((SECONDS >= deadline)); then
      die "timed out after ${timeout}s waiting for $what; see $INFRA_CACHE/$name/$name.log"
    fi
    sleep 0.5
  done
}

# stop_daemon <name> [timeout_s]: SIGTERM our process group, SIGKILL after the timeout.
stop_daemon() {
  local name="$1" timeout="${2:-20}" pid
  if ! pid="$(running_pid "$name")"; then
    log "not running (no live pid in $(pid_file "$name"))"
    rm -f "$(pid_file "$name")"
    return 0
  fi
  log "stopping pid $pid (process group)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  # Wait for the whole group: children (Triton under PyTriton) outlive the leader briefly.
  while kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "still alive after ${timeout}s, sending SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.3
  done
  rm -f "$(pid_file "$name")"
  log "stopped"
}

status_daemon() {
  local name="$1" port="$2" pid
  if pid="$(running_pid "$name")"; then
    if port_open "$port"; then
      log "running (pid $pid, 127.0.0.1:$port open)"
    else
      log "process alive (pid $pid) but 127.0.0.1:$port is not accepting connections yet"
      return 1
    fi
  else
    log "not running"
    return 1
  fi
}

# ensure_venv <requirements file>: create the shared venv and install requirements once; the
# requirements file's hash is stored so a changed pin reinstalls and an unchanged one is a no-op.
ensure_venv() {
  local req="$1" stamp want
  require_cmd python3
  stamp="$INFRA_VENV/.installed-$(basename "$req")"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "venv up to date for $(basename "$req") ($INFRA_VENV)"
    return 0
  fi
  if [[ ! -x "$INFRA_VENV/bin/python" ]]; then
    log "creating venv $INFRA_VENV"
    python3 -m venv "$INFRA_VENV"
  fi
  log "pip install -r $req (first time takes a few minutes)"
  "$INFRA_VENV/bin/pip" install --disable-pip-version-check --progress-bar off -q -r "$req" \
    || die "pip install -r $req failed (is PyPI reachable?)"
  echo "$want" >"$stamp"
}

usage_and_exit() {
  echo "usage: $0 install|start|stop|status" >&2
  exit 2
}
