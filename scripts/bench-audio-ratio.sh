#!/usr/bin/env bash
# The audio-signal scorer against the Python reproduction of the official audio approach, on the
# same files, in alternating rounds: a shared machine's load comes and goes over seconds to
# minutes, so one Rust run followed by one Python run can differ by 2-4x either way. Each round
# runs both back to back (`omniscore bench`, 20 timed runs per file, then the Python script, 5);
# the ratio is taken per round and per file, and the median over rounds is reported with its
# range.
#
#     PYTHON=/path/to/venv/bin/python bash scripts/bench-audio-ratio.sh [ROUNDS] [FILE...]
#
# PYTHON must have librosa 0.11.0, pyloudnorm 0.2.0 and soundfile (see
# scripts/bench_reference_audio.py). Default files: tests/media/audio/librivox/*.wav (scripts/
# fetch-test-media.sh) and aud2.mp3 from OMNISCORE_QUALITY_PAIRS (default
# /work/shared/data/quality-pairs).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
shift || true
python=${PYTHON:-python3}
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    pairs=${OMNISCORE_QUALITY_PAIRS:-/work/shared/data/quality-pairs}
    files=(tests/media/audio/librivox/*.wav)
    [ -f "$pairs/aud2.mp3" ] && files+=("$pairs/aud2.mp3")
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo build --release --locked >/dev/null 2>&1
omniscore="${CARGO_TARGET_DIR:-target}/release/omniscore"
for r in $(seq 1 "$rounds"); do
    echo "round $r/$rounds" >&2
    "$omniscore" bench --scorer audio-signal --runs 20 --warmup 2 --progress off \
        --export-json "$out/rust.$r.json" "${files[@]}" >/dev/null
    "$python" scripts/bench_reference_audio.py "${files[@]}" 2>/dev/null | tail -1 >"$out/python.$r"
done
python3 - "$out" "$rounds" <<'PY'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ratios, rust_ms, py_ms, audio_s = {}, {}, {}, {}
name = lambda path: os.path.basename(path).replace("sense_and_sensibility_01_austen_64kb-", "librivox-")
for r in range(1, rounds + 1):
    rust = {name(x["path"]): x["time"]["median"] * 1e3
            for x in json.load(open(f"{out}/rust.{r}.json"))["results"] if x["time"]}
    for item in json.loads(open(f"{out}/python.{r}").read()):
        n = name(item["path"])
        if n not in rust:
            continue
        ratios.setdefault(n, []).append(item["median_s"] * 1e3 / rust[n])
        rust_ms.setdefault(n, []).append(rust[n])
        py_ms.setdefault(n, []).append(item["median_s"] * 1e3)
        audio_s[n] = item["audio_s"]
print(f"{'file':22} {'audio s':>8} {'omniscore ms':>13} {'python ms':>10} {'ratio (median, range)':>24}")
for n in sorted(ratios):
    rs = ratios[n]
    print(f"{n:22} {audio_s[n]:8.2f} {statistics.median(rust_ms[n]):13.3f} "
          f"{statistics.median(py_ms[n]):10.1f} {statistics.median(rs):10.1f}x ({min(rs):.0f}-{max(rs):.0f}x)")
print(json.dumps({n: {"audio_s": audio_s[n], "rust_ms": rust_ms[n], "python_ms": py_ms[n], "ratios": ratios[n]}
                  for n in sorted(ratios)}))
PY
