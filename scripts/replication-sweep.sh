#!/usr/bin/env bash
# A large seed sweep of the replication track's reference solutions: each stage's reference
# against its own stage's tests, with KATAS_SEEDS seeds per test (default 500) instead of the
# handful CI runs. Not for CI (it takes a long while): run it after changing katas-sim, a Raft
# solution or a test, and put the figures it prints in the note. Release build, for speed.
#   usage: scripts/replication-sweep.sh [SEEDS] [STAGE...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=${1:-500}; shift || true
all=$(grep -A20 '^id = "replication"' "$root/info.toml" | grep -m1 '^stages' | sed 's/.*\[\(.*\)\].*/\1/' | tr -d '"' | tr ',' ' ')
stages=${*:-$all}
report=()
total_start=$(date +%s)
for stage in $stages; do
  scratch="$root/.katas/sweep/$stage"
  rm -rf "$scratch"; mkdir -p "$scratch"
  cp -r "$root/course/replication/start/." "$scratch/"
  rm -rf "$scratch/src"; cp -r "$root/solutions/replication/$stage/." "$scratch/"
  sed -i "s#path = \"\.\./\.\./#path = \"$root/#" "$scratch/Cargo.toml"
  mkdir -p "$scratch/tests/stages"
  cp "$root/course/replication/$stage/tests.rs" "$scratch/tests/stages/$stage.rs"
  echo "mod $stage;" > "$scratch/tests/stages/main.rs"
  log="$root/.katas/sweep/$stage.log"
  start=$(date +%s)
  if (cd "$scratch" && KATAS_SEEDS=$seeds CARGO_TARGET_DIR="$root/.katas/target-sweep" \
      cargo test --release -q --test stages >"$log" 2>&1); then verdict=ok; else verdict=FAILED; fi
  secs=$(( $(date +%s) - start ))
  tests=$(grep -o '[0-9]\+ passed' "$log" | tail -1 | cut -d' ' -f1 || true)
  failed=$(grep -o '[0-9]\+ failed' "$log" | tail -1 | cut -d' ' -f1 || true)
  # A failing test names its seed in its report ("(seed 17, tick ...)").
  bad=$(grep -o '(seed [0-9]*' "$log" | sort -u | tr -d '(' | tr '\n' ' ' || true)
  line=$(printf '%-16s %4s seeds  %2s tests passed  %2s failed  %5ss  %s %s' \
    "$stage" "$seeds" "${tests:-0}" "${failed:-0}" "$secs" "$verdict" "$bad")
  echo "$line"; report+=("$line")
done
echo
echo "replication sweep, KATAS_SEEDS=$seeds, $(( $(date +%s) - total_start ))s in all (logs in .katas/sweep/):"
printf '%s\n' "${report[@]}"
