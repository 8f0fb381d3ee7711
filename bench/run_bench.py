#!/usr/bin/env python3
"""kiln vs ONNX Runtime vs OpenVINO on the CPU, measured side by side (issue 4).

    python3 bench/run_bench.py                 # full: real models, results in bench/results/
    python3 bench/run_bench.py --quick         # smoke: fixture models, about a minute

Full mode exports what it lacks of BERT-base, ResNet-50, MobileNetV2, GPT-2 and ViT-B/16
(random weights) with torch into .cache/models (scripts/export_models.py; install with
bench/install_bench_deps.sh), then per case:

1. builds kiln's plan with the kiln CLI (--saveEngine), timing it;
2. starts one worker process per engine (kiln_bench_worker loading the plan; ONNX Runtime
   with all graph optimizations; OpenVINO with the LATENCY hint and f32 precision), each
   with --threads threads, so each engine's peak RSS is its own;
3. binds the same inputs (fixed seed) everywhere, warms up, and checks every engine's
   outputs against ONNX Runtime's with the model tests' tolerance, so no engine wins by
   being wrong;
4. times R repetitions, each running a chunk of about --chunk-seconds in every engine in
   turn, the order rotating, so that noise from a shared machine hits all engines alike.

The stream case runs BERT over requests of mixed sequence lengths through one loaded
model (kiln: one profile over the whole range), each request timed from binding its
inputs, so per-shape preparation is counted as users pay it. The tiny case is one Add of
16 floats: what remains is each engine's fixed cost per inference.

Reported per engine and case: median and p99 latency, throughput, peak RSS (VmHWM),
build/compile time; per case kiln/ORT and kiln/OpenVINO latency ratios and kiln's
GFLOP/s against the machine's peak. Writes results.json, results.md and ratios.png.
Exit status 1 when an engine failed or outputs disagree.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_cases  # noqa: E402
import report  # noqa: E402
from flops import cached_flops  # noqa: E402
from workers import ENGINES, WorkerError, build_kiln_plan, snapshot_kiln, start_worker  # noqa: E402

ROOT = bench_cases.ROOT


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fixture models from tests/models, short chunks")
    ap.add_argument("--threads", type=int, default=2, help="threads of every engine (default 2)")
    ap.add_argument("--cases", nargs="+", help="run only these cases (names as in results.json)")
    ap.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    ap.add_argument("--reps", type=int, help="repetitions (stream: passes); default 5, quick 3")
    ap.add_argument("--chunk-seconds", type=float, help="time per engine per repetition; default 2, quick 0.15")
    ap.add_argument("--warmup-seconds", type=float, help="warm-up per engine; default 1, quick 0.1")
    ap.add_argument("--pause", type=float, default=0.05,
                    help="seconds between chunks, so one engine's spinning threads are idle before the next")
    ap.add_argument("--peak-gflops", type=float, default=230.0, help="the machine's fp32 peak (default 230)")
    ap.add_argument("--models-dir", help="default .cache/models (quick: tests/models)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"), help="kiln's build folder")
    ap.add_argument("--out", help="results folder; default bench/results (quick: .cache/bench/results-quick)")
    a = ap.parse_args()
    a.mode = "quick" if a.quick else "full"
    a.reps = a.reps or (3 if a.quick else 5)
    a.chunk_seconds = a.chunk_seconds or (0.15 if a.quick else 2.0)
    a.warmup_seconds = a.warmup_seconds or (0.1 if a.quick else 1.0)
    a.models_dir = a.models_dir or os.path.join(ROOT, *(("tests", "models") if a.quick else (".cache", "models")))
    a.out = a.out or (os.path.join(ROOT, ".cache", "bench", "results-quick") if a.quick
                      else os.path.join(HERE, "results"))
    a.work = os.path.join(ROOT, ".cache", "bench", a.mode)
    # The workers run in bench/: every path handed to them must be absolute.
    a.models_dir, a.build_dir, a.out = (os.path.abspath(p) for p in (a.models_dir, a.build_dir, a.out))
    return a


def machine_info():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    info = {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
            "load_before": None, "load_after": None}
    for mod in ("onnxruntime", "openvino", "numpy", "onnx"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        info["kiln_commit"] = commit + ("+dirty" if dirty else "")
    except OSError:
        info["kiln_commit"] = None
    return info


def load_average():
    return [round(x, 2) for x in os.getloadavg()]


# ----------------------------------------------------------------------------------------
# one case


def iterations_for(seconds, latency_ms, lo, hi):
    return int(min(hi, max(lo, round(seconds * 1e3 / max(latency_ms, 1e-6)))))


def warm_up(worker, seconds, min_runs=5):
    """Runs in growing batches until `seconds` have passed and at least min_runs ran;
    -> median latency of the last batch in ms. The first runs can be far slower than the
    rest (per-shape preparation, thread start-up), so no estimate comes from them alone."""
    spent, runs, n = 0.0, 0, 1
    while True:
        lat = worker.ask("run", n)["lat_ms"]
        spent += sum(lat) / 1e3
        runs += n
        median = float(np.median(lat))
        if spent >= seconds and runs >= min_runs:
            return median
        left = max(seconds - spent, 0.0)
        n = max(1, min(2 * n, iterations_for(left, median, 1, 20000), max(min_runs - runs, 1) if left == 0 else 20000))


def rotate(items, r):
    r %= max(1, len(items))
    return items[r:] + items[:r]


def time_engines(case, args, workers, results_engines, stream_list, out_root, fail):
    """R repetitions, each a chunk in every engine, the order rotating. -> {engine: [chunk
    latencies]}; fills each engine's stats and peak RSS."""
    passes = {e: [] for e in workers}
    for rep in range(args.reps):
        for engine in rotate([e for e in args.engines if e in workers], rep):
            w = workers[engine]
            try:
                if case.stream:
                    dump = os.path.join(out_root, engine) if rep == 0 else "-"
                    passes[engine].append(w.ask("stream", stream_list, dump)["lat_ms"])
                else:
                    n = iterations_for(args.chunk_seconds, results_engines[engine]["warmup_median_ms"], 3, 20000)
                    passes[engine].append(w.ask("run", n)["lat_ms"])
            except WorkerError as e:
                fail(engine, e)
            time.sleep(args.pause)

    for engine, w in list(workers.items()):
        r = results_engines[engine]
        r["peak_rss_kb"] = w.peak_rss_kb()
        lat = [x for p in passes[engine] for x in p]
        r["stats"] = report.latency_stats(lat, case.batch)
        if case.stream:
            r["passes"] = passes[engine]
    return passes


def run_case(case, args, results_engines):
    """Measures one case; fills results_engines[engine] with stats or an error."""
    workers = {}
    try:
        measure_case(case, args, results_engines, workers)
    finally:
        for w in workers.values():
            w.close()


def measure_case(case, args, results_engines, workers):
    work = os.path.join(args.work, "run")
    logs = os.path.join(args.work, "logs")
    os.makedirs(logs, exist_ok=True)
    input_files, stream_list = bench_cases.write_case_inputs(case, args.work)

    def fail(engine, err):
        results_engines.setdefault(engine, {})["error"] = str(err)
        log(f"{case.name}: {engine} FAILED: {err}")
        w = workers.pop(engine, None)
        if w:
            w.close()

    for engine in args.engines:
        results_engines[engine] = {}
        plan = os.path.join(args.work, "plans", case.name + ".plan")
        if engine == "kiln":
            os.makedirs(os.path.dirname(plan), exist_ok=True)
            try:
                b = build_kiln_plan(case, plan, args.threads, args.build_dir, logs)
                results_engines["kiln"].update(build_s=b["build_s"], engine_build_ms=b["engine_build_ms"],
                                               build_peak_rss_kb=b["peak_rss_kb"])
            except WorkerError as e:
                fail("kiln", e)
                continue
        try:
            w = start_worker(engine, case, plan, args.threads, args.build_dir, logs, static=not case.stream)
            workers[engine] = w
            r = results_engines[engine]
            if engine == "kiln":
                r["load_s"] = w.load_s
            else:
                r["build_s"] = w.load_s
            r["info"] = w.info
            for name, path in input_files.items():
                w.ask("input", name, path)
            r["warmup_median_ms"] = warm_up(w, args.warmup_seconds)
        except WorkerError as e:
            fail(engine, e)

    # Outputs first: an engine that is wrong is reported, not timed as a winner.
    out_root = os.path.join(work, case.name)
    shutil.rmtree(out_root, ignore_errors=True)
    names = case.meta["outputs"]
    classifier = case.meta.get("classifier_output")
    if not case.stream:
        for engine, w in list(workers.items()):
            try:
                w.ask("dump", os.path.join(out_root, engine))
            except WorkerError as e:
                fail(engine, e)

    passes = time_engines(case, args, workers, results_engines, stream_list, out_root, fail)
    for w in workers.values():
        w.close()

    if "ort" in passes and "error" not in results_engines.get("ort", {}):
        for engine in passes:
            if engine == "ort" or "error" in results_engines[engine]:
                continue
            if case.stream:
                parts = [report.compare_dirs(os.path.join(out_root, "ort", str(i)), os.path.join(out_root, engine, str(i)),
                                             names, classifier) for i in range(len(case.stream))]
                results_engines[engine]["vs_ort"] = report.merge_comparisons(parts)
            else:
                results_engines[engine]["vs_ort"] = report.compare_dirs(
                    os.path.join(out_root, "ort"), os.path.join(out_root, engine), names, classifier)


def case_flops(case, args):
    """FLOPs of one inference (a stream: of the whole pass), or None for the tiny case."""
    if case.model_name == "tiny_add":
        return None
    cache = os.path.join(args.work, "flops.json")
    rng = np.random.default_rng(0)

    def feeds(dims):
        return {n: bench_cases.make_input(n, case.meta["inputs"][n]["dtype"], s, rng, case.meta.get("vocab_size"))
                for n, s in case.input_shapes(dims).items()}

    dims_list = [{**case.dims, "sequence": s} for s in case.stream] if case.stream else [case.dims]
    return sum(r["flops"] for r in cached_flops(case.model_path, [feeds(d) for d in dims_list], cache))


def summarize(case, engines, flops, peak_gflops):
    res = {"case": case.name, "label": case.label, "model": os.path.relpath(case.model_path, ROOT),
           "dims": case.dims, "batch": case.batch, "engines": engines, "flops": flops}
    if case.stream:
        res["stream"] = case.stream
    ms = {k: report.headline_ms(engines.get(k, {}), bool(case.stream)) for k in ENGINES}
    ok = {k: ms[k] is not None and "error" not in engines.get(k, {}) for k in ENGINES}
    if ok["kiln"] and ok["ort"]:
        res["kiln_over_ort"] = ms["kiln"] / ms["ort"]
    if ok["kiln"] and ok["ov"]:
        res["kiln_over_ov"] = ms["kiln"] / ms["ov"]
    if flops:
        for k in ENGINES:
            if ok[k]:
                seconds = ms[k] / 1e3 * (len(case.stream) if case.stream else 1)
                engines[k]["gflops"] = flops / seconds / 1e9
        if ok["kiln"]:
            res["kiln_gflops"] = engines["kiln"]["gflops"]
            res["kiln_peak_fraction"] = res["kiln_gflops"] / peak_gflops
    return res


# ----------------------------------------------------------------------------------------


def write_json(doc, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "results.json")
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(path + ".tmp", path)


def main():
    args = parse_args()
    cases = bench_cases.quick_cases() if args.quick else bench_cases.full_cases()
    if args.cases:
        unknown = set(args.cases) - {c.name for c in cases}
        if unknown:
            raise SystemExit(f"unknown cases {sorted(unknown)}; {args.mode} cases: {[c.name for c in cases]}")
        cases = [c for c in cases if c.name in args.cases]
    if "kiln" in args.engines:
        # The plan is built by the kiln CLI and run by the worker: both must be the current
        # sources', or a worker older than the CLI runs (or misreads) the newer plan.
        if os.path.exists(os.path.join(args.build_dir, "build.ninja")):
            subprocess.run(["ninja", "-C", args.build_dir, "kiln", "kiln_bench_worker"], check=True,
                           stdout=subprocess.DEVNULL)
        if not os.path.exists(os.path.join(args.build_dir, "bench", "kiln_bench_worker")):
            raise SystemExit(f"{args.build_dir}/bench/kiln_bench_worker is missing: build it with "
                             "ninja -C build kiln kiln_bench_worker")
    if "kiln" in args.engines:
        args.build_dir = snapshot_kiln(args.build_dir, os.path.join(args.work, "bin"))
    if not args.quick:
        bench_cases.export_missing([c.model_name for c in cases if c.model_name != "tiny_add"], args.models_dir, log)
    bench_cases.attach_models(cases, args.models_dir, args.work)

    doc = {"mode": args.mode, "threads": args.threads, "reps": args.reps, "chunk_seconds": args.chunk_seconds,
           "peak_gflops": args.peak_gflops, "date": datetime.datetime.now().isoformat(timespec="seconds"),
           "machine": machine_info(), "results": []}
    doc["machine"]["load_before"] = load_average()
    start = time.time()
    for case in cases:
        log(f"{case.name}: {case.label} ({os.path.relpath(case.model_path, ROOT)})")
        flops = None
        try:
            flops = case_flops(case, args)
        except Exception as e:  # FLOPs are a figure, not a reason to lose the timings
            log(f"{case.name}: cannot count FLOPs: {type(e).__name__}: {e}")
        engines = {}
        try:
            run_case(case, args, engines)
        except Exception as e:  # a harness failure in one case must not lose the others
            log(f"{case.name}: harness error: {type(e).__name__}: {e}")
            for k in args.engines:
                engines.setdefault(k, {}).setdefault("error", f"harness: {type(e).__name__}: {e}")
        res = summarize(case, engines, flops, args.peak_gflops)
        doc["results"].append(res)
        log("  " + report.summary_rows([res])[-1])
        write_json(doc, args.out)  # after every case, so an interrupted run keeps its numbers
    doc["machine"]["load_after"] = load_average()
    doc["wall_s"] = time.time() - start
    write_json(doc, args.out)
    md = report.markdown(doc)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md)
    chart = os.path.join(args.out, "ratios.png")
    report.ratio_chart(doc, chart)
    print(md)
    log(f"wrote {args.out}/results.json, results.md, ratios.png ({doc['wall_s']:.0f} s)")

    bad = [f"{r['case']}: {k} {'failed' if 'error' in e else 'disagrees with ONNX Runtime'}"
           for r in doc["results"] for k, e in r["engines"].items()
           if "error" in e or not e.get("vs_ort", {"ok": True}).get("ok")]
    for b in bad:
        log(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
