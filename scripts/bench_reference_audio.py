#!/usr/bin/env python3
"""Times the official UniM audio-quality approach, reproduced in Python, on the same files as
benches/quality_audio.rs, for the ratio to omniscore's "audio-signal" (same machine, same run).

    pip install librosa==0.11.0 pyloudnorm==0.2.0 soundfile
    python3 scripts/bench_reference_audio.py tests/media/audio/librivox/*.wav \
        /work/shared/data/quality-pairs/aud2.mp3

The approach (../shared/reference/unim-evaluation.md): load at 48 kHz, ten hand-built
statistics (SNR, spectral flatness, dynamic range, loudness in the -22..-14 LUFS window,
clipping/DC/silence, transients, crest factor, bandwidth, spectral contrast, chroma), each
mapped to [0, 1], a weighted geometric mean q, reported as 100 * q^0.7. Each statistic calls
librosa / pyloudnorm the way such a script does (one feature call each). chroma uses
chroma_stft, the cheaper of librosa's chroma features, so the Python time is if anything low.
Like the Rust bench, a run goes from the file path to the score (decoding included). Prints
per file the median seconds over REPEATS runs after one warm-up run (numba JIT, caches) and the
audio seconds scored per wall second, then one JSON line.
"""
import json
import sys
import timeit

import librosa
import numpy as np
import pyloudnorm

RATE = 48_000
REPEATS = 5


def clamp01(x):
    return float(min(1.0, max(0.0, x)))


def official_style_score(path):
    y, sr = librosa.load(path, sr=RATE, mono=True)
    eps = 1e-10
    rms = librosa.feature.rms(y=y, frame_length=2048, hop_length=512)[0]
    # 1. SNR: loud frames over quiet frames.
    snr = 20 * np.log10((np.percentile(rms, 90) + eps) / (np.percentile(rms, 10) + eps))
    s_snr = clamp01(snr / 40)
    # 2. Spectral flatness (noise-like is bad).
    flat = float(np.mean(librosa.feature.spectral_flatness(y=y)))
    s_flat = clamp01(1 - flat * 2)
    # 3. Dynamic range of frame levels.
    dr = 20 * np.log10((np.percentile(rms, 95) + eps) / (np.percentile(rms, 5) + eps))
    s_dr = clamp01(dr / 30)
    # 4. Loudness in the -22..-14 LUFS window.
    lufs = pyloudnorm.Meter(sr).integrated_loudness(y)
    d = max(0.0, -22 - lufs, lufs + 14) if np.isfinite(lufs) else 40.0
    s_loud = clamp01(1 - d / 20)
    # 5. Clipping, DC, silence.
    clip = float(np.mean(np.abs(y) >= 0.99))
    dc = abs(float(np.mean(y)))
    silence = float(np.mean(rms < 1e-3))
    s_cds = clamp01(1 - 20 * clip) * clamp01(1 - 10 * dc) * clamp01(1 - silence)
    # 6. Transients: onset rate.
    env = librosa.onset.onset_strength(y=y, sr=sr)
    onsets = librosa.onset.onset_detect(onset_envelope=env, sr=sr)
    rate = len(onsets) / max(len(y) / sr, 1e-3)
    s_trans = clamp01(1 - abs(rate - 3) / 10)
    # 7. Crest factor.
    crest = 20 * np.log10((np.max(np.abs(y)) + eps) / (np.sqrt(np.mean(y ** 2)) + eps))
    s_crest = clamp01(1 - abs(crest - 15) / 20)
    # 8. Bandwidth.
    rolloff = float(np.mean(librosa.feature.spectral_rolloff(y=y, sr=sr, roll_percent=0.99)))
    bw = float(np.mean(librosa.feature.spectral_bandwidth(y=y, sr=sr)))
    s_bw = clamp01(rolloff / 16000) * 0.5 + clamp01(bw / 4000) * 0.5
    # 9. Spectral contrast.
    contrast = float(np.mean(librosa.feature.spectral_contrast(y=y, sr=sr)))
    s_con = clamp01(contrast / 30)
    # 10. Chroma clarity.
    chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    s_chroma = clamp01(float(np.mean(np.max(chroma, axis=0))))
    subs = np.array([s_snr, s_flat, s_dr, s_loud, s_cds, s_trans, s_crest, s_bw, s_con, s_chroma])
    weights = np.array([2, 1, 1, 1, 2, 0.5, 0.5, 1, 0.5, 0.5])
    q = float(np.exp(np.sum(weights * np.log(np.maximum(subs, 1e-3))) / np.sum(weights)))
    return 100 * q ** 0.7


def main():
    results = []
    total_audio = total_wall = 0.0
    for path in sys.argv[1:]:
        seconds = librosa.get_duration(path=path)
        score = official_style_score(path)  # warm-up
        times = sorted(timeit.repeat(lambda: official_style_score(path), number=1, repeat=REPEATS))
        median = times[len(times) // 2]
        total_audio += seconds
        total_wall += median
        results.append({"path": path, "audio_s": seconds, "median_s": median,
                        "audio_s_per_s": seconds / median, "score": score})
        print(f"{path}: {seconds:6.2f} s audio, median {median * 1e3:8.1f} ms, "
              f"{seconds / median:7.1f} audio s/s, score {score:.1f}")
    print(f"all files: {total_audio:.2f} s audio in {total_wall:.3f} s: "
          f"{total_audio / total_wall:.1f} audio s/s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
