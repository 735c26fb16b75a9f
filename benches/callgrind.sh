#!/usr/bin/env bash
# Instructions per request, counted by callgrind on a release `tessera serve`
# (server side only, every thread): the gateway is started under callgrind,
# seeded (view v_1, one guest token), warmed with 200 requests, the counters
# are zeroed, N keep-alive requests are sent one after another on one
# connection, and the counters dumped. Prints instructions / request for the
# warm forward-auth `/auth`, Envoy's `/auth/<path>` and (with an upstream on
# the same machine) the reverse proxy.
#
#   benches/callgrind.sh [BIN] [N]      (default BIN target/release/tessera, N 2000)
set -euo pipefail
BIN=${1:-${CARGO_TARGET_DIR:-target}/release/tessera}
N=${2:-2000}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# An upstream that answers 200 to everything (for the proxy scenario).
python3 - "$work/upstream.port" <<'PY' &
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200); self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
for _ in $(seq 100); do [ -s "$work/upstream.port" ] && break; sleep 0.1; done
upstream="http://127.0.0.1:$(cat "$work/upstream.port")"

# Sends N requests on one keep-alive connection and checks each is a 200.
client() { # port path token n [forward-auth]
  python3 - "$@" <<'PY'
import http.client, sys
port, path, token, n, fa = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
c = http.client.HTTPConnection("127.0.0.1", int(port))
h = {"authorization": "Bearer " + token}
if fa:
    h.update({"x-original-method": "GET", "x-original-uri": "/api/v1/views/v_1/rows"})
for _ in range(n):
    c.request("GET", path, headers=h)
    r = c.getresponse(); body = r.read()
    assert r.status == 200, (r.status, body)
PY
}

# The authorizer's time limit is raised: under callgrind the one cold
# Datalog run takes far longer than its 20 ms default.
measure() { # name path forward-auth extra-serve-args...
  local name=$1 path=$2 fa=$3; shift 3
  local dir="$work/$name" out="$work/$name.out"
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$BIN" --data-dir "$dir" serve --listen 127.0.0.1:0 --log info --max-authorizer-ms 2000 "$@" \
    > "$work/$name.stdout" 2> "$work/$name.stderr" &
  local pid=$!
  for _ in $(seq 600); do grep -q '^listening on' "$work/$name.stdout" 2>/dev/null && break; sleep 0.1; done
  local port; port=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\)/\1/p' "$work/$name.stdout")
  local admin; admin=$(tr -d '\n' < "$dir/admin.token")
  curl -sf -X PUT "http://127.0.0.1:$port/admin/v1/views/v_1" -H "authorization: Bearer $admin" \
    -H 'content-type: application/json' -d '{"table":"t_1","workspace":"ws_1"}' > /dev/null
  local token; token=$(curl -sf -X POST "http://127.0.0.1:$port/admin/v1/tokens" -H "authorization: Bearer $admin" \
    -H 'content-type: application/json' \
    -d '{"kind":"guest","workspace":"ws_1","view":"v_1","allow":"read,export","expires":"1d"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  client "$port" "$path" "$token" 200 "$fa"
  callgrind_control -z "$pid" > /dev/null
  client "$port" "$path" "$token" "$N" "$fa"
  callgrind_control -d "$pid" > /dev/null
  sleep 1
  local total; total=$(cat "$out".* 2>/dev/null | sed -n 's/^summary: //p' | awk '{s+=$1} END {print s}')
  echo "$name: $((total / N)) instructions/request ($N requests)"
  cp "$(ls -t "$out".* | head -1)" "${CALLGRIND_KEEP:-/tmp}/callgrind.$name.out" 2>/dev/null || true
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

measure auth /auth 1
measure envoy /auth/api/v1/views/v_1/rows 0
measure proxy /api/v1/views/v_1/rows 0 --upstream "$upstream"
