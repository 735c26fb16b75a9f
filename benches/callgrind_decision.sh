#!/usr/bin/env bash
# Instructions per decision, counted by callgrind: Tessera's cold decision
# (`authorize::decide` from the token's text: decode, parse, verify,
# revocation, authorize) against the same decision written directly
# against biscuit-auth (the decision bench's baseline), for 1, 2 and 4
# blocks. Each side runs the decision bench's binary with N and with 0
# decisions (the same seeded fixture), and the difference over N is one
# decision's count, so setup is not counted. Counts do not move with the
# machine's load; they do not see cache misses or time lost elsewhere.
#
#   benches/callgrind_decision.sh [N]        (default N 100)
set -euo pipefail
N=${1:-100}
cargo bench --bench decision --no-run 2>/dev/null
bin=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/decision-* | grep -v '\.d$' | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

count() { # side blocks n -> total instructions
  TESSERA_DECISION_LOOP=$1 TESSERA_DECISION_BLOCKS=$2 TESSERA_DECISION_N=$3 \
    valgrind --tool=callgrind --callgrind-out-file="$work/out" "$bin" 2>/dev/null
  awk '/^totals:|^summary:/ { print $2; exit }' "$work/out"
}

printf '%-8s %14s %14s %10s\n' blocks cold baseline cold/baseline
for blocks in 1 2 4; do
  per() { echo $(( ($(count "$1" "$blocks" "$N") - $(count "$1" "$blocks" 0)) / N )); }
  cold=$(per cold)
  base=$(per baseline)
  printf '%-8s %14s %14s %9.3fx\n' "$blocks" "$cold" "$base" "$(awk -v c="$cold" -v b="$base" 'BEGIN { print c / b }')"
done
