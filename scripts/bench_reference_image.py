#!/usr/bin/env python3
"""Times the Python references (skvideo.measure.niqe, brisque.BRISQUE.score) on the images that
benches/quality_image.rs writes, for the ratio to omniscore's figures (same machine, same run).
The bench runs it itself after its own timings when OMNISCORE_BENCH_PYTHON names the Python:

    OMNISCORE_BENCH_PYTHON=/tmp/iqa-venv/bin/python cargo bench --bench quality_image

or by hand:

    python scripts/bench_reference_image.py /tmp/omniscore-bench-images/bench_*.png

Needs the packages listed in tests/fixtures/image/make_reference.py. Decoding is excluded
(arrays are decoded once), as in the Rust bench. Prints, per scorer and image, the median
seconds per image over REPEATS timeit runs and the images/s that implies.
"""
import json
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "image"))
import iqa_reference as ref  # noqa: E402

REPEATS = 7


def main():
    results = []
    for path in sys.argv[1:]:
        rgb = ref.load_rgb(path)
        size = f"{rgb.shape[1]}x{rgb.shape[0]}"
        for name, fn in (("niqe", ref.niqe), ("brisque", ref.brisque)):
            fn(rgb)  # warm-up: model loading and caches
            times = sorted(timeit.repeat(lambda: fn(rgb), number=1, repeat=REPEATS))
            median = times[len(times) // 2]
            results.append({"scorer": name, "size": size, "median_s": median,
                            "images_per_s": 1.0 / median})
            print(f"{name:8} {size:10} median {median * 1e3:9.1f} ms  {1.0 / median:7.2f} images/s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
