#!/usr/bin/env python3
"""Builds the model-test fixtures under tests/models/.

For each small model: exports tests/models/<name>/model.onnx and meta.json with
scripts/export_models.py (run in the torch export venv, see scripts/install_export_deps.sh),
then writes several cases tests/models/<name>/case_<k>/ holding
    input_<inputname>.npy    random inputs, at different batch sizes / sequence lengths
    output_<outputname>.npy  onnxruntime's outputs (CPU EP, graph optimizations disabled)
and records the cases and the reference in meta.json.

Run with the project's python (onnxruntime from requirements.txt):
    python3 scripts/make_fixtures.py                 # export + cases, all models
    python3 scripts/make_fixtures.py --skip-export   # only regenerate the cases
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ALL_MODELS = ["resnet50", "mobilenet_v2", "vit", "bert", "distilbert", "gpt2"]

# Values of the symbolic dims, one dict per case.
VISION_CASES = [{"batch": 1}, {"batch": 3}, {"batch": 2}]
TEXT_CASES = [
    {"batch": 1, "sequence": 7},
    {"batch": 3, "sequence": 16},
    {"batch": 2, "sequence": 11},
    {"batch": 1, "sequence": 1},
]


def make_input(name, dtype, shape, rng, vocab=None):
    """One random input. Floats: standard normal. Integers by name: *mask*: ones, and in
    every row after the first some zeros at the end (never the whole row); *token_type*:
    0 then 1 from a random point on; anything else (input_ids): uniform in [0, vocab)."""
    if dtype in ("float32", "float"):
        return rng.standard_normal(shape).astype(np.float32)
    if "mask" in name:
        m = np.ones(shape, dtype=np.int64)
        if len(shape) == 2 and shape[1] > 1:
            for r in range(1, shape[0]):
                pad = int(rng.integers(1, max(2, shape[1] // 2 + 1)))
                m[r, shape[1] - pad:] = 0
        return m
    if "token_type" in name:
        t = np.zeros(shape, dtype=np.int64)
        if len(shape) == 2:
            for r in range(shape[0]):
                t[r, int(rng.integers(1, shape[1] + 1)):] = 1
        return t
    return rng.integers(0, vocab or 100, size=shape, dtype=np.int64)


def concrete_shape(shape, dims):
    return [dims[d] if isinstance(d, str) else int(d) for d in shape]


def ort_session(path, optimized=False):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimized
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def make_cases(model_dir, name):
    import onnxruntime as ort

    with open(os.path.join(model_dir, "meta.json")) as f:
        meta = json.load(f)
    path = os.path.join(model_dir, "model.onnx")
    sess = ort_session(path)
    sess_opt = ort_session(path, optimized=True)
    input_names = [i.name for i in sess.get_inputs()]
    output_names = [o.name for o in sess.get_outputs()]
    text = any(i.type == "tensor(int64)" for i in sess.get_inputs())

    for d in os.listdir(model_dir):
        if d.startswith("case_"):
            shutil.rmtree(os.path.join(model_dir, d))
    cases = []
    for k, dims in enumerate(TEXT_CASES if text else VISION_CASES):
        rng = np.random.default_rng(zlib.crc32(f"{name}/{k}".encode()))
        inputs = {}
        for n in input_names:
            info = meta["inputs"][n]
            inputs[n] = make_input(n, info["dtype"], concrete_shape(info["shape"], dims), rng,
                                   meta.get("vocab_size"))
        outputs = sess.run(output_names, inputs)
        outputs_opt = sess_opt.run(output_names, inputs)
        case_dir = os.path.join(model_dir, f"case_{k}")
        os.makedirs(case_dir)
        for n, v in inputs.items():
            np.save(os.path.join(case_dir, f"input_{n}.npy"), np.ascontiguousarray(v), allow_pickle=False)
        info = []
        for n, v, vo in zip(output_names, outputs, outputs_opt):
            if not np.all(np.isfinite(v)):
                raise RuntimeError(f"{name} case_{k}: output {n} has non-finite values")
            np.save(os.path.join(case_dir, f"output_{n}.npy"), np.ascontiguousarray(v), allow_pickle=False)
            info.append(f"{n} {list(v.shape)} max|v| {np.max(np.abs(v)):.3g}, "
                        f"ORT optimized vs not {np.max(np.abs(v - vo)):.2e}")
        cases.append({"dir": f"case_{k}", "dims": dims})
        print(f"  {name} case_{k} {dims}: " + "; ".join(info), flush=True)

    meta["cases"] = cases
    meta["reference"] = f"onnxruntime {ort.__version__}, CPUExecutionProvider, graph optimizations disabled"
    with open(os.path.join(model_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "models"))
    ap.add_argument("--models", nargs="+", choices=ALL_MODELS, default=ALL_MODELS)
    ap.add_argument("--skip-export", action="store_true", help="keep the existing model.onnx and meta.json")
    ap.add_argument("--export-python", default=os.path.join(ROOT, ".cache", "export-venv", "bin", "python"),
                    help="python with torch (default: the venv from scripts/install_export_deps.sh)")
    args = ap.parse_args()

    if not args.skip_export:
        cmd = [args.export_python, os.path.join(HERE, "export_models.py"), "--size", "small",
               "--out", args.out, "--models", *args.models]
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)

    for name in args.models:
        make_cases(os.path.join(args.out, name), name)

    total = 0
    for dirpath, _, files in os.walk(args.out):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    print(f"fixtures in {args.out}: {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
