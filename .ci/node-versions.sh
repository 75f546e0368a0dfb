#!/usr/bin/env bash
# Provision the extra Node.js versions users run (22 and 24 LTS; the machine has 20)
# from the npm registry's `node` package, each into .ci/.node/<major>, and print
# one `<major> <bin dir>` line per version. Idempotent: an installed version is kept.
set -euo pipefail
cd "$(dirname "$0")"
VERSIONS=("${@:-22.23.3 24.21.0}")
for v in ${VERSIONS[*]}; do
  major="${v%%.*}"
  dir=".node/$major"
  if [ ! -x "$dir/node_modules/.bin/node" ] || [ "$("$dir/node_modules/.bin/node" --version)" != "v$v" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    echo '{"name":"ci-node","private":true}' > "$dir/package.json"
    npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "node@$v" >&2
  fi
  echo "$major $(cd "$dir/node_modules/.bin" && pwd)"
done
