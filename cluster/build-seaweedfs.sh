#!/usr/bin/env bash
# Builds SeaweedFS's `weed` (github.com/seaweedfs/seaweedfs, Apache-2.0) from the Go module proxy into
# .tools/seaweedfs/bin: the S3-compatible server the object storage destination's tests run against.
# A binary already built at this version is reused.
#
# Like cluster/build-temporal.sh, the build goes through a throwaway module that requires the pinned
# version (`go install pkg@version` refuses modules with replace directives), and `go version -m` on the
# binary names the module version it was built from, which is what the reuse check reads.
set -euo pipefail

MODULE=github.com/seaweedfs/seaweedfs
VERSION=v0.0.0-20261109003541-7506e5f91cd6

export GOTOOLCHAIN=go1.27.3
export CGO_ENABLED=0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.tools/seaweedfs/bin"

command -v go >/dev/null || { echo "seaweedfs: Go is needed to build SeaweedFS (https://go.dev/dl/)" >&2; exit 1; }

if [[ -x "$BIN/weed" ]] && go version -m "$BIN/weed" 2>/dev/null \
  | grep -qE "^[[:space:]]+(mod|dep)[[:space:]]+$MODULE[[:space:]]+$VERSION([[:space:]]|$)"; then
  echo "seaweedfs: reusing $MODULE $VERSION in $BIN"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/seaweedfs-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$BIN"
started=$SECONDS
echo "seaweedfs: building $MODULE $VERSION with $GOTOOLCHAIN (a first build downloads modules and takes minutes)"
cd "$work"
go mod init seaweedfs-build >/dev/null 2>&1
go get "$MODULE/weed@$VERSION" 2>&1 | { grep -v '^go: added ' || true; } >&2
# A temporary name, renamed when done: an interrupted build never leaves a binary a later run would reuse.
go build -o "$BIN/.weed.tmp" "$MODULE/weed" && mv -f "$BIN/.weed.tmp" "$BIN/weed"
echo "seaweedfs: built $MODULE $VERSION into $BIN in $((SECONDS - started))s"
