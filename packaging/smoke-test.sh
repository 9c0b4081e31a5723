#!/usr/bin/env bash
# Smoke test of a release binary, as the last step of the release procedure:
#
#   packaging/smoke-test.sh dist/skyhold-0.1.0-aarch64-linux-musl     (runs under qemu-aarch64-static)
#   packaging/smoke-test.sh dist/skyhold-0.1.0-x86_64-linux-musl
#
# Starts the binary on 127.0.0.1 with a fresh data directory, creates an account, posts, reads the
# post back, exports the repo and verifies it with the binary itself, takes an online backup and
# restores it, reports the process's memory (VmRSS) after start and after those requests, then
# stops it by PID with SIGTERM and checks that it exits cleanly. Needs curl; installs
# qemu-user-static with apt when an aarch64 binary is tested and it is missing.
set -euo pipefail

binary=$(realpath "${1:?usage: $0 BINARY}")
run=()
case "$(file -b "$binary")" in
  *aarch64*)
    command -v qemu-aarch64-static >/dev/null || { apt-get update -qq && apt-get install -y -qq qemu-user-static; }
    run=(qemu-aarch64-static)
    ;;
esac
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "SMOKE TEST FAILED: $*" >&2; [ -f "$work/log" ] && tail -n 30 "$work/log" >&2; exit 1; }
# A loopback port nobody answers on, and the next one too (local mode puts the relay there).
port=$(( 20000 + RANDOM % 20000 ))
while curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null || curl -s -o /dev/null "http://127.0.0.1:$((port + 1))/" 2>/dev/null; do
  port=$((port + 2))
done
url="http://127.0.0.1:$port"
json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }

echo "binary:  $binary"
echo "runs as: ${run[*]:-native} $(file -b "$binary" | cut -d, -f1-2)"
start=$(date +%s%N)
"${run[@]}" "$binary" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  curl -sf "$url/xrpc/_health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "the server exited during start-up"
  sleep 0.1
done
curl -sf "$url/xrpc/_health" >/dev/null || fail "no answer on $url within 30 s"
echo "ready in $(( ($(date +%s%N) - start) / 1000000 )) ms (pid $pid)"
sleep 1
rss_start=$(rss_kb)

account=$(curl -sf "$url/xrpc/com.atproto.server.createAccount" -H 'content-type: application/json' \
  -d '{"handle":"smoke.test","email":"smoke@example.com","password":"smoke-test-password"}') \
  || fail "createAccount"
did=$(echo "$account" | json_field did)
token=$(echo "$account" | json_field accessJwt)
[ -n "$did" ] && [ -n "$token" ] || fail "createAccount answered $account"
echo "account: $did"

text="hello from $(uname -m) at $(date -u +%FT%TZ)"
created=$(curl -sf "$url/xrpc/com.atproto.repo.createRecord" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' \
  -d "{\"repo\":\"$did\",\"collection\":\"app.bsky.feed.post\",\"record\":{\"\$type\":\"app.bsky.feed.post\",\"text\":\"$text\",\"createdAt\":\"2026-11-24T10:00:00.000Z\"}}") \
  || fail "createRecord"
uri=$(echo "$created" | json_field uri)
rkey=${uri##*/}
echo "posted:  $uri"
read_back=$(curl -sf "$url/xrpc/com.atproto.repo.getRecord?repo=$did&collection=app.bsky.feed.post&rkey=$rkey") \
  || fail "getRecord"
echo "$read_back" | grep -qF "\"text\":\"$text\"" || fail "the post read back differs: $read_back"
echo "read back: the same text"

curl -sf "$url/xrpc/com.atproto.sync.getRepo?did=$did" -o "$work/repo.car" || fail "getRepo"
"${run[@]}" "$binary" repo verify "$work/repo.car" --plc-url "$url/plc" >"$work/verify.txt" 2>&1 \
  || { cat "$work/verify.txt"; fail "the exported repo does not verify"; }
grep -q "app.bsky.feed.post: 1" "$work/verify.txt" || fail "the export lacks the post"
echo "repo:    $(grep '^verified' "$work/verify.txt")"

"${run[@]}" "$binary" backup "$work/backup" --config /dev/null --url "$url" \
  --admin-password "$(cat "$work/data/admin-password")" >"$work/backup.txt" 2>&1 \
  || { cat "$work/backup.txt"; fail "online backup"; }
"${run[@]}" "$binary" restore "$work/backup" --data-dir "$work/restored" >"$work/restore.txt" 2>&1 \
  || { cat "$work/restore.txt"; fail "restore"; }
echo "backup:  $(head -n 1 "$work/backup.txt"); restored: $(head -n 1 "$work/restore.txt")"

for _ in 1 2 3 4 5; do curl -sf "$url/xrpc/com.atproto.repo.describeRepo?repo=$did" >/dev/null; done
sleep 2
rss_after=$(rss_kb)
label="VmRSS"
[ ${#run[@]} -gt 0 ] && label="VmRSS of qemu + skyhold (emulation overhead included)"
echo "memory:  $label: ${rss_start} kB after start, ${rss_after} kB after the requests above"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" -eq 0 ] || fail "exit status $status after SIGTERM"
echo "stopped: exit status 0 after SIGTERM"
echo "SMOKE TEST PASSED"
