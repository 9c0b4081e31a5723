#!/usr/bin/env bash
# The release build, in one command:
#
#   packaging/build-release.sh            both targets
#   packaging/build-release.sh x86_64     or aarch64: one target
#
# Builds fully static skyhold binaries for x86_64-unknown-linux-musl and aarch64-unknown-linux-musl
# (release profile: fat LTO, one codegen unit, stripped) with cargo-zigbuild, checks that each is
# statically linked and under the size budget, packages each as a .deb (cargo-deb: binary, systemd
# unit, configuration reference, maintainer scripts) and writes dist/SHA256SUMS. Then run
# packaging/smoke-test.sh on the binaries (the aarch64 one under qemu-aarch64-static).
#
# Reproducible: pinned tool versions, --locked dependencies, paths remapped out of the binary,
# SOURCE_DATE_EPOCH from the last commit (file dates inside the .deb), and a target directory of
# its own. Two runs from the same commit should give the same SHA256SUMS (packaging/README.md
# records what was checked).
#
# Takes long on a small machine (fat LTO: ~10+ minutes per target on 2 cores), so CI does not run
# it; see packaging/README.md for the release procedure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

ZIG_VERSION=0.17.1
CARGO_ZIGBUILD_VERSION=0.24.1
CARGO_DEB_VERSION=3.8.0
MAX_BYTES=$((25 * 1000 * 1000))

targets=()
case "${1:-all}" in
  all) targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl) ;;
  x86_64) targets=(x86_64-unknown-linux-musl) ;;
  aarch64) targets=(aarch64-unknown-linux-musl) ;;
  *) echo "usage: $0 [all|x86_64|aarch64]" >&2; exit 2 ;;
esac

step() { printf '\n=== %s\n' "$*"; }

step "tools"
for target in "${targets[@]}"; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done
if [ "$(python3 -m ziglang version 2>/dev/null || true)" != "$ZIG_VERSION" ]; then
  python3 -m pip install --quiet "ziglang==$ZIG_VERSION"
fi
if ! cargo zigbuild --help >/dev/null 2>&1; then
  cargo install --locked "cargo-zigbuild@$CARGO_ZIGBUILD_VERSION"
fi
if [ "$(cargo deb --version 2>/dev/null || true)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
  cargo install --locked "cargo-deb@$CARGO_DEB_VERSION"
fi
command -v file >/dev/null || { apt-get update -qq && apt-get install -y -qq file; }
echo "rustc $(rustc --version | cut -d' ' -f2), zig $(python3 -m ziglang version), $(cargo deb --version)"

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export CARGO_TARGET_DIR=${SKYHOLD_RELEASE_TARGET_DIR:-$root/target/release-build}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
export RUSTFLAGS="--remap-path-prefix=$root=/skyhold --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$rustup_home=/rustup"
dist=$root/dist
mkdir -p "$dist"

for target in "${targets[@]}"; do
  arch=${target%%-*}
  step "build $target"
  start=$(date +%s)
  cargo zigbuild --release --locked --target "$target"
  echo "built in $(( $(date +%s) - start )) s"
  binary=$CARGO_TARGET_DIR/$target/release/skyhold
  description=$(file -b "$binary")
  echo "$description"
  case "$description" in
    *"statically linked"*|*"static-pie linked"*) ;;
    *) echo "error: $binary is not statically linked" >&2; exit 1 ;;
  esac
  size=$(stat -c %s "$binary")
  echo "size: $size bytes"
  if [ "$size" -gt "$MAX_BYTES" ]; then
    echo "error: $binary is $size bytes, over the $MAX_BYTES byte budget" >&2
    exit 1
  fi
  cp "$binary" "$dist/skyhold-$version-$arch-linux-musl"

  step "package $target"
  cargo deb --no-build --locked --target "$target" --output "$dist/"
done

step "checksums"
(cd "$dist" && sha256sum skyhold-"$version"-*-linux-musl skyhold_"$version"-*.deb > SHA256SUMS && cat SHA256SUMS)
ls -l "$dist"
