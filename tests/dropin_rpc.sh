#!/usr/bin/env bash
# One curl session as an operator's scripts run it, against the RPC at $1 (http://host:port):
# JSON-RPC POSTs with -d and no Content-Type header, URI GETs, and error cases. Prints one line
# per call: "<label> <body>". Used by tests/dropin_cometbft_test.ts against switchyard and against
# a cometbft node; every address is the loopback one the test passes.
set -euo pipefail
B="$1"
call() {
  local label="$1"
  shift
  printf '%s ' "$label"
  curl -s --max-time 10 "$@"
  printf '\n'
}
call post_status -d '{"jsonrpc":"2.0","id":1,"method":"status","params":{}}' "$B"
call post_net_info -d '{"jsonrpc":"2.0","id":2,"method":"net_info"}' "$B"
call post_health -d '{"jsonrpc":"2.0","id":"h","method":"health"}' "$B/"
call post_batch -d '[{"jsonrpc":"2.0","id":1,"method":"health"},{"jsonrpc":"2.0","id":2,"method":"health"}]' "$B"
call post_unknown_method -d '{"jsonrpc":"2.0","id":4,"method":"no_such_method"}' "$B"
call post_bad_params -d '{"jsonrpc":"2.0","id":5,"method":"status","params":["x"]}' "$B"
call post_not_json -d 'not json' "$B"
call get_status "$B/status"
call get_net_info "$B/net_info"
call get_health "$B/health"
call get_dial_seeds_unsafe_off "$B/dial_seeds?seeds=%5B%5D"
