#!/usr/bin/env bash
# The audio-signal scorer against the Python reproduction of the official audio approach, on the
# same files, in alternating rounds: a shared machine's load comes and goes over seconds to
# minutes, so one Rust run followed by one Python run can differ by 2-4x either way. Each round
# runs both back to back; the ratio is taken per round and per file, and the median over rounds
# is reported with its range.
#
#     PYTHON=/path/to/venv/bin/python bash scripts/bench-audio-ratio.sh [ROUNDS]
#
# PYTHON must have librosa 0.11.0, pyloudnorm 0.2.0 and soundfile (see
# scripts/bench_reference_audio.py). Files: tests/media/audio/librivox/*.wav (scripts/
# fetch-test-media.sh) and aud2.mp3 from OMNISCORE_QUALITY_PAIRS (default
# /work/shared/data/quality-pairs).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
python=${PYTHON:-python3}
pairs=${OMNISCORE_QUALITY_PAIRS:-/work/shared/data/quality-pairs}
files=(tests/media/audio/librivox/*.wav)
[ -f "$pairs/aud2.mp3" ] && files+=("$pairs/aud2.mp3")
out=$(mktemp -d)
cargo bench --bench quality_audio --no-run >/dev/null 2>&1
for r in $(seq 1 "$rounds"); do
    echo "round $r/$rounds" >&2
    cargo bench --bench quality_audio -- "audio-signal/file" --output-format bencher 2>/dev/null \
        | grep '^test ' >"$out/rust.$r"
    "$python" scripts/bench_reference_audio.py "${files[@]}" 2>/dev/null | tail -1 >"$out/python.$r"
done
python3 - "$out" "$rounds" <<'EOF'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ratios, rust_ms, py_ms, audio_s = {}, {}, {}, {}
for r in range(1, rounds + 1):
    rust = {}
    for line in open(f"{out}/rust.{r}"):
        # test audio-signal/file/librivox-0870 ... bench:     1234567 ns/iter (+/- 89)
        parts = line.split()
        rust[parts[1].split("/")[-1]] = float(parts[4].replace(",", "")) / 1e6
    for item in json.loads(open(f"{out}/python.{r}").read()):
        stem = item["path"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        name = stem.replace("sense_and_sensibility_01_austen_64kb-", "librivox-")
        if name not in rust:
            continue
        ratios.setdefault(name, []).append(item["median_s"] * 1e3 / rust[name])
        rust_ms.setdefault(name, []).append(rust[name])
        py_ms.setdefault(name, []).append(item["median_s"] * 1e3)
        audio_s[name] = item["audio_s"]
print(f"{'file':16} {'audio s':>8} {'omniscore ms':>13} {'python ms':>10} {'ratio (median, range)':>24}")
for name in sorted(ratios):
    rs = ratios[name]
    print(f"{name:16} {audio_s[name]:8.2f} {statistics.median(rust_ms[name]):13.3f} "
          f"{statistics.median(py_ms[name]):10.1f} {statistics.median(rs):10.1f}x ({min(rs):.0f}-{max(rs):.0f}x)")
print(json.dumps({n: {"audio_s": audio_s[n], "rust_ms": rust_ms[n], "python_ms": py_ms[n], "ratios": ratios[n]}
                  for n in sorted(ratios)}))
EOF
