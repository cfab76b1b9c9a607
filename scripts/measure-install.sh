#!/usr/bin/env bash
# What a user's project costs to install: packs the given workspace packages (`npm pack`), installs
# the tarballs into a fresh temporary project with an empty npm cache (third-party packages come
# from the registry, native addons build as on a clean machine), and prints the wall time, the size
# of node_modules and what it holds. Run `npm run build` first.
#   scripts/measure-install.sh client sdk protocol                        # a lookup-only program
#   scripts/measure-install.sh stubrun cli daemon server worker sdk protocol
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/stubrun-install-XXXXXX")
mkdir -p "$work/tgz" "$work/project"
for pkg in "$@"; do (cd "$work/tgz" && npm pack "$root/packages/$pkg" --silent >/dev/null); done
cd "$work/project"
# The same install scripts the repository allows (package.json "allowScripts").
cat > package.json <<'JSON'
{ "name": "measure-install", "version": "1.0.0", "private": true,
  "allowScripts": { "better-sqlite3": true, "@swc/core": true, "esbuild": true } }
JSON
start=$(date +%s%N)
npm install --cache "$work/npm-cache" --no-audit --no-fund "$work"/tgz/*.tgz > "$work/install.log" 2>&1
end=$(date +%s%N)
echo "packages: $*"
echo "install wall time: $(( (end - start) / 1000000 )) ms (log: $work/install.log)"
echo "node_modules: $(du -sh node_modules | cut -f1)"
echo "holds: $(cd node_modules && ls -d @*/* [!@]* 2>/dev/null | tr '\n' ' ')"
echo "project: $work/project"
