#!/usr/bin/env bash
# Builds the state of one stage in a scratch crate and runs its tests, the way `katas dev check`
# does: the start of stage k is the reference solution of stage k-1 (or course/<track>/start for
# the first stage) plus the tests of stages 1..k; `solution` uses the stage's own reference.
# For course authors who want a quick look; `katas dev check` is the real check.
#   usage: scripts/stage-scratch.sh TRACK STAGE start|solution [-- extra cargo test args]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
track=$1 stage=$2 mode=$3; shift 3
stages=$(grep -A20 "^id = \"$track\"" "$root/info.toml" | grep -m1 '^stages' | sed 's/.*\[\(.*\)\].*/\1/' | tr -d '"' | tr ',' ' ')
prev=""; upto=()
for s in $stages; do upto+=("$s"); [ "$s" = "$stage" ] && break; prev=$s; done
[ "${upto[-1]}" = "$stage" ] || { echo "stage $stage not in track $track ($stages)"; exit 2; }
scratch="$root/.katas/scratch/$track-$stage-$mode"
rm -rf "$scratch"; mkdir -p "$scratch"
cp -r "$root/course/$track/start/." "$scratch/"
if [ "$mode" = solution ]; then overlay="$root/solutions/$track/$stage"; else overlay="${prev:+$root/solutions/$track/$prev}"; fi
if [ -n "$overlay" ]; then [ -d "$overlay/src" ] && rm -rf "$scratch/src"; cp -r "$overlay/." "$scratch/"; fi
# path dependencies are written relative to exercises/<track>: make them absolute
sed -i "s#path = \"\.\./\.\./#path = \"$root/#" "$scratch/Cargo.toml"
mkdir -p "$scratch/tests/stages"; : > "$scratch/tests/stages/main.rs"
for s in "${upto[@]}"; do cp "$root/course/$track/$s/tests.rs" "$scratch/tests/stages/$s.rs"; echo "mod $s;" >> "$scratch/tests/stages/main.rs"; done
cd "$scratch"
echo "scratch crate: $scratch"
CARGO_TARGET_DIR="$root/.katas/target-$track" cargo test --test stages "$@"
