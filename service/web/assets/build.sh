#!/usr/bin/env bash
# Installs the pinned npm packages (npm ci) and builds the bundles into service/web/static/vendor/.
# Idempotent and quick when nothing changed: each step is skipped while the hash of its inputs matches the
# stamp it left last time. Usage: build.sh [--force]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vendor="$here/../static/vendor"
cd "$here"

force=0
[[ "${1:-}" == "--force" ]] && force=1

command -v node >/dev/null || { echo "build.sh: node (>= 20) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "build.sh: npm is required" >&2; exit 1; }

# One build at a time (parallel test workers may all ask for the assets).
exec 9>"$here/.build.lock"
if command -v flock >/dev/null; then flock 9; fi

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# 1. node_modules from the lock file.
deps_hash="$(hash_of package-lock.json <(node --version))"
deps_stamp="node_modules/.tejun-deps.sha256"
if [[ $force == 1 || ! -f $deps_stamp || "$(cat "$deps_stamp")" != "$deps_hash" ]]; then
  echo "build.sh: npm ci"
  npm ci --no-audit --no-fund --prefer-offline --loglevel=error
  echo "$deps_hash" >"$deps_stamp"
fi

# 2. The bundles, from the lock file, the build script and the sources.
build_hash="$(hash_of "$deps_stamp" package.json build.mjs $(find src -type f | LC_ALL=C sort))"
build_stamp="$vendor/.build-stamp"
outputs=(form.js diagram.js app.js designer.js dashboard.js designer/editor.js manifest.json bpmn-js/diagram-js.css bpmn-js/bpmn-js.css)
missing=0
for f in "${outputs[@]}"; do [[ -f "$vendor/$f" ]] || missing=1; done
if [[ $force == 0 && $missing == 0 && -f $build_stamp && "$(cat "$build_stamp")" == "$build_hash" ]]; then
  echo "build.sh: assets up to date"
  exit 0
fi
npm run --silent build
echo "$build_hash" >"$build_stamp"
