#!/usr/bin/env python3
"""The judge's speed beside llama.cpp (llama-cpp-python), on the same GGUF file, the same token ids
and the same thread count, in alternating rounds (the machines are noisy, so neither side gets
the quiet minutes).

Each round runs `omniscore bench --judge CARD` once (it reports its own timings, model loading
excluded, and writes the token ids it ran to a workload file), then the same work in llama.cpp:
- prefill: the same N token ids from an empty context, tokens/s;
- judgements: the same shared prompt prefix evaluated once, then every judgement's own tokens
  after it (llama.cpp keeps the prefix in its KV cache and evaluates only the rest, as
  llama-cpp-python does for a prompt that shares a prefix with the last one), reading the
  next-token logits of the last position; judgements/s.

Prints per-round figures, medians and the ratios omniscore / llama.cpp (above 1: omniscore is
faster), and writes them as JSON with --out.

Usage: scripts/bench-judge-ratio.sh (installs llama-cpp-python in a venv) or
  python3 scripts/bench_reference_judge.py --omniscore target/release/omniscore \
      --card qwen2.5-coder-1.5b-instruct --threads 2 --rounds 3
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_omniscore(args, workload_path, export_path):
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    cmd = [
        args.omniscore, "bench", "--judge", args.card, "--runs", str(args.runs), "--warmup", "1",
        "--prompt-tokens", ",".join(str(n) for n in args.prompt_tokens),
        "--export-workload", workload_path, "--export-json", export_path, "--progress", "off",
    ]
    if args.models:
        cmd += ["--models", args.models]
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    with open(export_path) as f:
        return json.load(f)


def median_time(fn, runs, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class LlamaSide:
    def __init__(self, gguf, threads, n_ctx):
        from llama_cpp import Llama

        t0 = time.perf_counter()
        self.llm = Llama(model_path=gguf, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                         n_batch=2048, n_ubatch=512, logits_all=False, verbose=False)
        self.load_s = time.perf_counter() - t0

    def prefill(self, ids):
        self.llm.reset()
        self.llm.eval(ids)
        return self.llm._ctx.get_logits()[0]

    def judgements(self, prefix, items):
        # The prefix once (as our judge computes it once at load), then each judgement after it.
        self.llm.reset()
        self.llm.eval(prefix)
        n = len(prefix)

        def run():
            for s in items:
                self.llm.n_tokens = n  # eval() drops the KV cache past this point
                self.llm.eval(s)
                self.llm._ctx.get_logits()[0]
        return run


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--omniscore", required=True, help="the omniscore binary (release build)")
    p.add_argument("--card", required=True, help="a judge card with a GGUF file")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runs", type=int, default=3, help="timed runs per measure and round, each side")
    p.add_argument("--prompt-tokens", type=lambda s: [int(x) for x in s.split(",")], default=[256])
    p.add_argument("--models", help="model store folder (omniscore --models)")
    p.add_argument("--out", help="write the results here as JSON")
    args = p.parse_args()

    rows = {"prefill": {n: {"ours": [], "llama": []} for n in args.prompt_tokens},
            "judgements": {"ours": [], "llama": []}}
    llama = None
    with tempfile.TemporaryDirectory() as tmp:
        workload_path, export_path = os.path.join(tmp, "workload.json"), os.path.join(tmp, "ours.json")
        for r in range(args.rounds):
            ours = run_omniscore(args, workload_path, export_path)
            with open(workload_path) as f:
                work = json.load(f)
            if llama is None:
                longest = max(len(work["prefix"]) + max(len(s) for s in work["items"]),
                              max(len(v) for v in work["prefill"].values()))
                llama = LlamaSide(work["gguf"], args.threads, n_ctx=longest + 64)
            for n in args.prompt_tokens:
                ids = work["prefill"][str(n)]
                t = median_time(lambda: llama.prefill(ids), args.runs)
                rows["prefill"][n]["llama"].append(n / t)
                rows["prefill"][n]["ours"].append(ours["prefill"][str(n)]["tokens_per_s"])
            run = llama.judgements(work["prefix"], work["items"])
            t = median_time(run, args.runs)
            rows["judgements"]["llama"].append(len(work["items"]) / t)
            rows["judgements"]["ours"].append(ours["judgements"]["per_s"])
            print(f"round {r + 1}/{args.rounds}: " + "; ".join(
                [f"prefill {n}: ours {rows['prefill'][n]['ours'][-1]:.1f} tok/s, llama.cpp {rows['prefill'][n]['llama'][-1]:.1f}"
                 for n in args.prompt_tokens]
                + [f"judgements: ours {rows['judgements']['ours'][-1]:.3f}/s, llama.cpp {rows['judgements']['llama'][-1]:.3f}/s"]),
                file=sys.stderr, flush=True)

    def summary(pair):
        ratios = [o / l for o, l in zip(pair["ours"], pair["llama"])]
        return {"ours_median": statistics.median(pair["ours"]), "llama_median": statistics.median(pair["llama"]),
                "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
                "ours": pair["ours"], "llama": pair["llama"]}

    result = {"card": args.card, "threads": args.threads, "rounds": args.rounds,
              "prefill": {str(n): summary(v) for n, v in rows["prefill"].items()},
              "judgements": summary(rows["judgements"]), "judgements_count": len(work["items"]),
              "judgement_tokens": {"prefix": len(work["prefix"]), "suffix_mean": statistics.mean(len(s) for s in work["items"])}}
    print(f"{args.card}, {args.threads} threads, {args.rounds} alternating rounds (medians; ratio = omniscore / llama.cpp)")
    for n, s in result["prefill"].items():
        print(f"  prefill {n} tokens: omniscore {s['ours_median']:.1f} tok/s, llama.cpp {s['llama_median']:.1f} tok/s, "
              f"ratio {s['ratio_median']:.2f} ({s['ratio_min']:.2f}-{s['ratio_max']:.2f})")
    s = result["judgements"]
    print(f"  judgements ({result['judgements_count']}, prefix {result['judgement_tokens']['prefix']} tokens, "
          f"{result['judgement_tokens']['suffix_mean']:.0f} tokens each after it): omniscore {s['ours_median']:.3f}/s, "
          f"llama.cpp {s['llama_median']:.3f}/s, ratio {s['ratio_median']:.2f} ({s['ratio_min']:.2f}-{s['ratio_max']:.2f})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
