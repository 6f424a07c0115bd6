#!/usr/bin/env bash
# Builds the Temporal server (go.temporal.io/server) and its temporal-sql-tool from the Go module proxy
# into .tools/temporal-cluster/bin, and copies the PostgreSQL schema files beside them, for the
# multi-service cluster of cluster/index.ts. Binaries already built at this version are reused.
#
# The build goes through a throwaway module that requires the server at the pinned version, because
# `go install pkg@version` refuses modules with replace directives; `go version -m` on a binary then
# names the exact server version it was built from, which is what the reuse check reads.
set -euo pipefail

VERSION=v1.32.2
MODULE=go.temporal.io/server
# The server's go.mod asks for a newer Go than some machines have; the go command fetches this
# toolchain from the module proxy like any module.
export GOTOOLCHAIN=go1.27.3
# Pure Go: the server needs no cgo, and a static binary does not depend on the machine's libc.
export CGO_ENABLED=0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.tools/temporal-cluster"
BIN="$OUT/bin"

built_at_version() {
  local binary="$1"
  [[ -x "$binary" ]] && go version -m "$binary" 2>/dev/null | grep -qE "^[[:space:]]+dep[[:space:]]+$MODULE[[:space:]]+$VERSION([[:space:]]|$)"
}

if built_at_version "$BIN/temporal-server" && built_at_version "$BIN/temporal-sql-tool" \
  && [[ -f "$OUT/schema/postgresql/v12/temporal/schema.sql" ]]; then
  echo "temporal-cluster: reusing $MODULE $VERSION in $BIN"
  exit 0
fi

command -v go >/dev/null || { echo "temporal-cluster: Go is needed to build the Temporal server (https://go.dev/dl/)" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/temporal-cluster-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$BIN"

started=$SECONDS
echo "temporal-cluster: building $MODULE $VERSION with $GOTOOLCHAIN (a first build downloads ~2 GB of modules and takes minutes)"
cd "$work"
go mod init temporal-cluster-build >/dev/null 2>&1
# Naming the two packages (not just the module) records the checksums of everything they import.
go get "$MODULE/cmd/server@$VERSION" "$MODULE/cmd/tools/sql@$VERSION"
# Build to temporary names and rename, so an interrupted build never leaves a half-written binary
# that a later run would take for a finished one.
go build -o "$BIN/.temporal-server.tmp" "$MODULE/cmd/server"
go build -o "$BIN/.temporal-sql-tool.tmp" "$MODULE/cmd/tools/sql"
mv -f "$BIN/.temporal-server.tmp" "$BIN/temporal-server"
mv -f "$BIN/.temporal-sql-tool.tmp" "$BIN/temporal-sql-tool"

# The schema ships in the module; copy it out of the read-only module cache so it can be read without Go.
src="$(go list -m -f '{{.Dir}}' "$MODULE")"
rm -rf "$OUT/schema"
mkdir -p "$OUT/schema"
cp -r "$src/schema/postgresql" "$OUT/schema/"
chmod -R u+w "$OUT/schema"

echo "temporal-cluster: built $MODULE $VERSION into $BIN in $((SECONDS - started))s"
