#!/usr/bin/env bash
# End-to-end throughput on the bundled sample: `omniscore score` (captions, local judge, local GQ)
# from an empty store, RUNS times, each into a fresh output folder so nothing is reused; prints
# each run's wall time and the median instances per second.
#
#   bash scripts/bench-sample.sh [RUNS] [extra score flags...]
# Uses target/release/omniscore (built first); models must be installed (`omniscore models pull
# --defaults`), the runs are --offline.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
shift || true
cargo build --release --locked --quiet
bin="${CARGO_TARGET_DIR:-target}/release/omniscore"
gt=samples/unim-sample/ground_truth.json
resp=samples/unim-sample/responses.json
instances=$(python3 -c "import json,sys; d=json.JSONDecoder(); s=open('$gt').read(); i=n=0
while True:
    while i < len(s) and s[i].isspace(): i += 1
    if i >= len(s): break
    _, i = d.raw_decode(s, i); n += 1
print(n)")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
times=()
for r in $(seq 1 "$runs"); do
    start=$(date +%s.%N)
    "$bin" score --progress off --offline "$@" "$gt" "$resp" -o "$tmp/run$r" >/dev/null 2>&1 || [ $? -eq 3 ]
    end=$(date +%s.%N)
    t=$(python3 -c "print(f'{$end - $start:.3f}')")
    echo "run $r: $t s"
    times+=("$t")
done
python3 - "$instances" "${times[@]}" <<'PY'
import statistics, sys
n = int(sys.argv[1]); t = statistics.median(float(x) for x in sys.argv[2:])
print(f"median {t:.3f} s for {n} instances: {n / t:.3f} instances/s")
PY
