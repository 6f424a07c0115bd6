#!/usr/bin/env bash
# Builds the Temporal server (go.temporal.io/server) and its temporal-sql-tool from the Go module proxy
# into .tools/temporal-cluster/bin, copies the PostgreSQL schema files beside them, and, best effort, builds
# the Temporal UI server too, for the multi-service cluster of cluster/index.ts. Binaries already built
# at these versions are reused.
#
# Each build goes through a throwaway module that requires the pinned version, because
# `go install pkg@version` refuses modules with replace directives; `go version -m` on a binary then
# names the module version it was built from, which is what the reuse check reads.
set -euo pipefail

SERVER_MODULE=go.temporal.io/server
SERVER_VERSION=v1.32.2
UI_MODULE=github.com/temporalio/ui-server/v2
UI_VERSION=v2.58.1
# The UI server pins go.temporal.io/api v1.64.0 and echo v4.16.1, which the module proxy does not serve;
# the nearest patch releases it does serve build and run the same.
UI_BUMPS=(go.temporal.io/api@v1.64.3 github.com/labstack/echo/v4@v4.16.4)

# The server's go.mod asks for a newer Go than some machines have; the go command fetches this
# toolchain from the module proxy like any module.
export GOTOOLCHAIN=go1.27.3
# Pure Go: neither server needs cgo, and a static binary does not depend on the machine's libc.
export CGO_ENABLED=0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.tools/temporal-cluster"
BIN="$OUT/bin"

command -v go >/dev/null || { echo "temporal-cluster: Go is needed to build the Temporal server (https://go.dev/dl/)" >&2; exit 1; }
# Go before 1.21 ignores GOTOOLCHAIN and then fails on the server's go.mod with a less helpful message.
local_go="$(GOTOOLCHAIN=local go env GOVERSION)"
if [[ ! "$local_go" =~ ^go1\.([0-9]+) ]] || (( BASH_REMATCH[1] < 21 )); then
  echo "temporal-cluster: $local_go cannot fetch $GOTOOLCHAIN; Go 1.21 or later is needed (https://go.dev/dl/)" >&2
  exit 1
fi

built_at_version() { # binary module version
  [[ -x "$1" ]] && go version -m "$1" 2>/dev/null | grep -qE "^[[:space:]]+(mod|dep)[[:space:]]+$2[[:space:]]+$3([[:space:]]|$)"
}

work="$(mktemp -d "${TMPDIR:-/tmp}/temporal-cluster-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$BIN"

# go get, without the list of some 200 added requirements (downloads and errors still show).
# Naming packages, not just modules, records the checksums of everything they import.
get() {
  go get "$@" 2>&1 | { grep -v '^go: added ' || true; } >&2
}

# Builds to a temporary name and renames, so an interrupted build never leaves a half-written binary
# that a later run would take for a finished one.
build() { # package output-name
  go build -o "$BIN/.$2.tmp" "$1" && mv -f "$BIN/.$2.tmp" "$BIN/$2"
}

if built_at_version "$BIN/temporal-server" "$SERVER_MODULE" "$SERVER_VERSION" \
  && built_at_version "$BIN/temporal-sql-tool" "$SERVER_MODULE" "$SERVER_VERSION" \
  && [[ -f "$OUT/schema/postgresql/v12/temporal/schema.sql" ]]; then
  echo "temporal-cluster: reusing $SERVER_MODULE $SERVER_VERSION in $BIN"
else
  started=$SECONDS
  echo "temporal-cluster: building $SERVER_MODULE $SERVER_VERSION with $GOTOOLCHAIN (a first build downloads ~2 GB of modules and takes minutes)"
  mkdir "$work/server" && cd "$work/server"
  go mod init temporal-cluster-build >/dev/null 2>&1
  get "$SERVER_MODULE/cmd/server@$SERVER_VERSION" "$SERVER_MODULE/cmd/tools/sql@$SERVER_VERSION"
  build "$SERVER_MODULE/cmd/server" temporal-server
  build "$SERVER_MODULE/cmd/tools/sql" temporal-sql-tool
  # The schema ships in the module; copy it out of the read-only module cache so it can be read without Go.
  src="$(go list -m -f '{{.Dir}}' "$SERVER_MODULE")"
  rm -rf "$OUT/schema"
  mkdir -p "$OUT/schema"
  cp -r "$src/schema/postgresql" "$OUT/schema/"
  chmod -R u+w "$OUT/schema"
  echo "temporal-cluster: built $SERVER_MODULE $SERVER_VERSION into $BIN in $((SECONDS - started))s"
fi

# The same server with the namespace authorizer of cluster/authz-server (a Go main beside the stock one),
# for the clusters started with `authorizer: true`. Rebuilt when its sources are newer than the binary.
AUTHZ_SRC="$ROOT/cluster/authz-server"
if built_at_version "$BIN/temporal-server-authz" "$SERVER_MODULE" "$SERVER_VERSION" \
  && [[ -z "$(find "$AUTHZ_SRC" -newer "$BIN/temporal-server-authz" -print -quit)" ]]; then
  echo "temporal-cluster: reusing temporal-server-authz ($SERVER_MODULE $SERVER_VERSION) in $BIN"
else
  started=$SECONDS
  echo "temporal-cluster: building temporal-server-authz ($SERVER_MODULE $SERVER_VERSION with cluster/authz-server)"
  mkdir "$work/authz" && cp "$AUTHZ_SRC"/*.go "$work/authz/" && cd "$work/authz"
  go mod init temporal-server-authz >/dev/null 2>&1
  get "$SERVER_MODULE/temporal@$SERVER_VERSION" "$SERVER_MODULE/common/persistence/sql/sqlplugin/postgresql@$SERVER_VERSION"
  build . temporal-server-authz
  echo "temporal-cluster: built temporal-server-authz into $BIN in $((SECONDS - started))s"
fi

# The UI is a convenience for looking at a test cluster, not something the tests need: a failed UI build
# is reported and the script still succeeds.
if built_at_version "$BIN/temporal-ui-server" "$UI_MODULE" "$UI_VERSION"; then
  echo "temporal-cluster: reusing $UI_MODULE $UI_VERSION in $BIN"
else
  started=$SECONDS
  echo "temporal-cluster: building $UI_MODULE $UI_VERSION"
  # Chained with &&: `set -e` does not apply inside an `if` condition.
  if mkdir "$work/ui" && cd "$work/ui" \
    && go mod init temporal-ui-build >/dev/null 2>&1 \
    && get "$UI_MODULE/cmd/server@$UI_VERSION" "${UI_BUMPS[@]}" \
    && build "$UI_MODULE/cmd/server" temporal-ui-server; then
    echo "temporal-cluster: built $UI_MODULE $UI_VERSION into $BIN in $((SECONDS - started))s"
  else
    echo "temporal-cluster: warning: the UI server did not build; the cluster runs without it" >&2
  fi
fi
