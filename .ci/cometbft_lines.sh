#!/usr/bin/env bash
# Builds (once) the real cometbft binary of every CometBFT line the interop matrix covers, each into
# its own folder of the tools cache: $TOOLS_DIR/cometbft-vX.Y.Z/cometbft. A binary already there
# that reports the right version is reused, so only the first CI run pays for the builds.
# Usage: .ci/cometbft_lines.sh [TOOLS_DIR]   (prints one `version path` line per binary built/found)
# Builds run one after another: on a 2-core runner parallel Go builds only contend for the cores.
set -euo pipefail

TOOLS_DIR="${1:-${SWITCHYARD_TOOLS_DIR:-${HOME:-/tmp}/.cache/switchyard-tools}}"
# Keep in step with tests/interop/lines.ts. Each entry is `tag:reported`: what `cometbft version`
# prints is the tag's version/version.go constant, which two tags never bumped (v0.37.18 still
# says 0.37.16, v0.40.0 says 0.39.0).
LINE_VERSIONS=(0.34.35:0.34.35 0.37.18:0.37.16 0.39.4:0.39.4 0.40.0:0.39.0 1.0.1:1.0.1)

log() { printf '[ci] %s\n' "$*" >&2; }

binary_ok() {
  [ -x "$1" ] && [ "$("$1" version 2>/dev/null | tr -d '[:space:]')" = "$2" ]
}

# v0.34.35's go.mod has a replace block, which `go install pkg@version` refuses. The replaced
# libraries (schema, kit, afero, gonum) are not p2p code, so we build from a copy of the module
# folder with that block removed and let go resolve the upstream versions.
build_v034() {
  local version="$1" dest="$2" dir work
  dir="$(go mod download -json "github.com/cometbft/cometbft@v$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] || { log "go mod download gave no module folder for v$version"; return 1; }
  work="$(mktemp -d "${TMPDIR:-/tmp}/cometbft-v$version.XXXXXX")"
  cp -R "$dir/." "$work/"
  chmod -R u+w "$work"
  # Drop the multi-line `replace ( ... )` block.
  sed -i '/^replace (/,/^)/d' "$work/go.mod"
  (cd "$work" && GOFLAGS=-mod=mod go build -o "$dest/cometbft" ./cmd/cometbft)
  rm -rf "$work"
}

ensure_line() {
  local version="${1%%:*}" reported="${1##*:}" dest start
  dest="$TOOLS_DIR/cometbft-v$version"
  if binary_ok "$dest/cometbft" "$reported"; then
    printf '%s %s\n' "$version" "$dest/cometbft"
    return 0
  fi
  mkdir -p "$dest"
  start=$SECONDS
  log "building cometbft v$version into $dest"
  case "$version" in
    0.34.*) build_v034 "$version" "$dest" ;;
    *) GOBIN="$dest" go install "github.com/cometbft/cometbft/cmd/cometbft@v$version" ;;
  esac
  if binary_ok "$dest/cometbft" "$reported"; then
    log "cometbft v$version built in $((SECONDS - start)) s"
    printf '%s %s\n' "$version" "$dest/cometbft"
  else
    log "cometbft v$version: build finished but the binary does not report $reported"
    return 1
  fi
}

main() {
  command -v go >/dev/null 2>&1 || { log "no go toolchain: cannot build the cometbft lines"; return 1; }
  local v failed=0
  for v in "${LINE_VERSIONS[@]}"; do
    ensure_line "$v" || failed=1
  done
  return "$failed"
}

main "$@"
