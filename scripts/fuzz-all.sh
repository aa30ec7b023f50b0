#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a short time each
# (default 20s; `scripts/fuzz-all.sh 2m` for longer). Fails on the first crash.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-20s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "== $pkg $f ($t)"
    go test -run '^$' -fuzz "^${f}\$" -fuzztime "$t" -parallel 1 "$pkg"
  done
done
