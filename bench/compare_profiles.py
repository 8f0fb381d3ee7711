#!/usr/bin/env python3
"""Where the time goes, kiln against ONNX Runtime, per kind of layer, on one model.

    python3 bench/compare_profiles.py --case resnet50_b1        # after a bench/run_bench.py run

Uses what run_bench.py left under .cache/bench/full/ (the case's kiln plan and inputs):
kiln's per-layer profile (`kiln --loadEngine=<plan> --exportProfile --exportLayerInfo`)
and ONNX Runtime's (SessionOptions.enable_profiling, the same settings as the benchmark:
all graph optimizations, intra_op_num_threads=2, the same input files), each averaged
over --iterations runs after a warm-up. Both engines fuse, and differently, so the
layers are grouped by what they compute (convolution, matrix product, attention,
normalization, elementwise, data movement, pooling, other), and each group is shown
with its time per inference and its share.
"""
import argparse
import collections
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import bench_cases  # noqa: E402
import ort_worker  # noqa: E402

# Layer or node type -> group. kiln's fused types and ORT's contrib ops included.
GROUPS = {
    "convolution": {"Conv", "FusedConv", "NchwcConv", "QLinearConv"},
    "matrix product": {"MatMul", "FusedMatMul", "Gemm", "FusedGemm", "MatMulNBits"},
    "attention": {"Attention", "MultiHeadAttention", "Softmax"},
    "normalization": {"LayerNormalization", "SkipLayerNormalization", "SkipLayerNorm", "LayerNorm",
                      "SimplifiedLayerNormalization", "BatchNormalization"},
    "elementwise": {"Add", "Mul", "Sub", "Div", "Relu", "Clip", "Gelu", "BiasGelu", "FastGelu", "Erf", "Tanh",
                    "Pow", "Sqrt", "Where", "Cast", "ElementwiseChain", "Sigmoid", "HardSigmoid"},
    "data movement": {"Transpose", "Reorder", "ReorderInput", "ReorderOutput", "Reshape", "Split", "Slice", "Concat",
                      "Gather", "Flatten", "Squeeze", "Unsqueeze", "Expand", "Shape"},
    "pooling": {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ChannelsLastPool"},
}


def group_of(op_type):
    for group, types in GROUPS.items():
        if op_type in types:
            return group
    return "other"


def kiln_profile(kiln, plan, inputs_dir, iterations):
    with tempfile.TemporaryDirectory() as tmp:
        profile, layers = os.path.join(tmp, "profile.json"), os.path.join(tmp, "layers.json")
        feeds = ",".join(f"{os.path.splitext(os.path.basename(p))[0]}:{p}"
                         for p in sorted(glob.glob(os.path.join(inputs_dir, "*.npy"))))
        cmd = [kiln, f"--loadEngine={plan}", f"--iterations={iterations}", "--duration=0", "--warmUp=500",
               f"--exportProfile={profile}", f"--exportLayerInfo={layers}"]
        if feeds:
            cmd.append(f"--loadInputs={feeds}")
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        info = json.load(open(layers))
        types = {layer["Name"]: layer["LayerType"] for layer in (info["Layers"] if isinstance(info, dict) else info)}
        totals = collections.Counter()
        for entry in json.load(open(profile)):
            if "name" in entry:
                totals[types.get(entry["name"], "?")] += entry["averageMs"]
        return totals


def ort_profile(model, inputs_dir, dims, iterations, threads):
    so = ort_worker.session_options(threads, dims)
    with tempfile.TemporaryDirectory() as tmp:
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tmp, "ort")
        session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        feeds = {os.path.splitext(os.path.basename(p))[0]: np.load(p)
                 for p in glob.glob(os.path.join(inputs_dir, "*.npy"))}
        for _ in range(5):
            session.run(None, feeds)
        runs = 0
        for _ in range(iterations):
            session.run(None, feeds)
            runs += 1
        trace = json.load(open(session.end_profiling()))
    totals = collections.Counter()
    for event in trace:
        if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            totals[event["args"]["op_name"]] += event["dur"] / 1000.0
    # The warm-up runs are in the trace too.
    return collections.Counter({k: v / (runs + 5) for k, v in totals.items()})


def by_group(totals):
    groups = collections.Counter()
    for op_type, ms in totals.items():
        groups[group_of(op_type)] += ms
    return groups


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", required=True, help="a bench case name, e.g. resnet50_b1")
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=os.path.join(ROOT, ".cache", "bench", "full"))
    ap.add_argument("--models-dir", default=os.path.join(ROOT, ".cache", "models"))
    args = ap.parse_args()
    cases = {c.name: c for c in bench_cases.full_cases()}
    if args.case not in cases:
        raise SystemExit(f"unknown case {args.case}; cases: {sorted(cases)}")
    case = cases[args.case]
    bench_cases.attach_models([case], args.models_dir, args.work)
    plan = os.path.join(args.work, "plans", case.name + ".plan")
    inputs = os.path.join(args.work, "inputs", case.name)
    kiln = os.path.join(args.work, "bin", "kiln")
    for path in (plan, inputs, kiln):
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing: run bench/run_bench.py --cases {case.name} first")
    k = kiln_profile(kiln, plan, inputs, args.iterations)
    o = ort_profile(case.model_path, inputs, case.dims, args.iterations, args.threads)
    kg, og = by_group(k), by_group(o)
    kt, ot = sum(kg.values()), sum(og.values())
    print(f"{case.label}: time per inference by kind of layer (sum of layer times; {args.threads} threads)")
    print(f"| kind | kiln ms | kiln % | ORT ms | ORT % | kiln - ORT ms |")
    print("|---|---|---|---|---|---|")
    for g in sorted(set(kg) | set(og), key=lambda g: -(kg[g] + og[g])):
        print(f"| {g} | {kg[g]:.2f} | {100 * kg[g] / kt:.0f}% | {og[g]:.2f} | {100 * og[g] / ot:.0f}% | "
              f"{kg[g] - og[g]:+.2f} |")
    print(f"| total | {kt:.2f} | | {ot:.2f} | | {kt - ot:+.2f} |")
    print("kiln layer types:", ", ".join(f"{t} {ms:.2f}" for t, ms in k.most_common()))
    print("ORT node types:", ", ".join(f"{t} {ms:.2f}" for t, ms in o.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
