#!/usr/bin/env python3
"""Runs one ONNX model in kiln and in onnxruntime on the same inputs and compares outputs.

    python3 scripts/compare_with_ort.py --kiln build/kiln --model tests/models/bert/model.onnx \\
        --shapes input_ids:2x16,attention_mask:2x16,token_type_ids:2x16
    python3 scripts/compare_with_ort.py --kiln build/kiln --model .cache/models/gpt2/model.onnx \\
        --dims batch=1,sequence=128
    python3 scripts/compare_with_ort.py --kiln build/kiln --model tests/models/vit/model.onnx \\
        --case tests/models/vit/case_1          # a fixture's inputs and stored outputs

Inputs are random (see make_fixtures.make_input: floats ~ N(0,1); input_ids in [0, vocab);
masks of ones with trailing zeros; token types 0/1), saved as .npy, and given to kiln as
    kiln --onnx=MODEL --loadInputs=name:file.npy,... --exportOutput=out.json
whose JSON is a list of {"name": ..., "dimensions": "2x16", "values": [...]} (like trtexec's
--exportOutput). The reference is onnxruntime in this process (CPU, graph optimizations
disabled unless --ort-optimized), or the stored outputs of --case.

Prints per output the max abs difference, the scale (max abs reference value) and, for the
classifier output, whether the argmax over the last axis matches. Exits 1 when an output
is missing, has another shape, or differs by more than --rtol * max(1, scale)
(default 1e-4); 2 when kiln fails.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import make_input, ort_session  # noqa: E402

NP_DTYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_,
}


def parse_shapes(text):
    """'a:1x3x224x224,b:2x7' -> {'a': [1, 3, 224, 224], 'b': [2, 7]} (trtexec's syntax)."""
    out = {}
    for item in filter(None, (text or "").split(",")):
        name, _, dims = item.rpartition(":")
        out[name] = [int(d) for d in dims.split("x")] if dims else []
    return out


def parse_dims(text):
    """'batch=2,sequence=16' -> {'batch': 2, 'sequence': 16}."""
    out = {}
    for item in filter(None, (text or "").split(",")):
        k, _, v = item.partition("=")
        out[k] = int(v)
    return out


def load_meta(model):
    p = os.path.join(os.path.dirname(os.path.abspath(model)), "meta.json")
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return {}


def make_inputs(sess, shapes, dims, vocab, seed):
    rng = np.random.default_rng(seed)
    inputs = {}
    for i in sess.get_inputs():
        if i.name in shapes:
            shape = shapes[i.name]
        else:
            shape = []
            for d in i.shape:
                if isinstance(d, int):
                    shape.append(d)
                elif d in dims:
                    shape.append(dims[d])
                else:
                    print(f"note: {i.name}: dim {d!r} not given (--shapes/--dims), using 1")
                    shape.append(1)
        dtype = NP_DTYPES.get(i.type)
        if dtype is None:
            raise SystemExit(f"input {i.name}: unsupported type {i.type}")
        if np.issubdtype(dtype, np.floating):
            inputs[i.name] = make_input(i.name, "float32", shape, rng).astype(dtype)
        else:
            inputs[i.name] = make_input(i.name, "int64", shape, rng, vocab).astype(dtype)
    return inputs


def load_case(case_dir):
    def read(prefix):
        out = {}
        for p in sorted(glob.glob(os.path.join(case_dir, prefix + "*.npy"))):
            out[os.path.basename(p)[len(prefix):-len(".npy")]] = np.load(p, allow_pickle=False)
        return out
    inputs, outputs = read("input_"), read("output_")
    if not inputs or not outputs:
        raise SystemExit(f"{case_dir}: no input_*.npy / output_*.npy")
    return inputs, outputs


def run_kiln(kiln, model, input_files, out_json, extra, timeout):
    cmd = [kiln, f"--onnx={model}",
           "--loadInputs=" + ",".join(f"{n}:{p}" for n, p in input_files.items()),
           f"--exportOutput={out_json}"] + extra
    print("+", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        sys.stdout.write(r.stdout[-4000:])
        sys.stderr.write(r.stderr[-4000:])
        print(f"kiln failed with exit status {r.returncode}")
        return None
    with open(out_json) as f:
        exported = json.load(f)
    outputs = {}
    for o in exported:
        dims = o.get("dimensions", "")
        shape = [int(d) for d in str(dims).split("x")] if str(dims) else []
        values = np.asarray(o["values"], dtype=np.float64).reshape(-1)
        if values.size != int(np.prod(shape, dtype=np.int64)):
            raise SystemExit(f"kiln output {o['name']}: {values.size} values for dimensions {dims!r}")
        outputs[o["name"]] = values.reshape(shape)
    return outputs


def compare(ref, got, rtol, classifier):
    ok = True
    for name, r in ref.items():
        if name not in got:
            print(f"{name}: MISSING from kiln's outputs")
            ok = False
            continue
        g = got[name]
        if list(g.shape) != list(r.shape):
            print(f"{name}: shape {list(g.shape)} != reference {list(r.shape)}")
            ok = False
            continue
        r64 = r.astype(np.float64)
        with np.errstate(invalid="ignore"):
            d = np.abs(g - r64)
        d[g == r64] = 0.0  # equal infinities
        diff = float(np.max(d)) if r.size else 0.0  # nan if kiln has a nan the reference has not
        finite = np.abs(r64[np.isfinite(r64)])
        scale = float(np.max(finite)) if finite.size else 0.0
        tol = rtol * max(1.0, scale)
        good = diff <= tol  # False for nan
        line = f"{name} {list(r.shape)}: max abs diff {diff:.3e}, scale {scale:.3e}, tol {tol:.1e}"
        if name == classifier and r.ndim >= 1 and r.size:
            am_r, am_g = np.argmax(r64, axis=-1), np.argmax(g, axis=-1)
            n = am_r.size
            same = int(np.sum(am_r == am_g))
            line += f", argmax {'matches' if same == n else 'DIFFERS'} ({same}/{n})"
        print(line + ("  ok" if good else "  FAIL"))
        ok = ok and good
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", help="kiln binary; without it only the reference half runs")
    ap.add_argument("--model", required=True, help="the .onnx file")
    ap.add_argument("--shapes", help="input shapes, trtexec-style: name:1x3x224x224,name2:2x7")
    ap.add_argument("--dims", help="values of symbolic dims for inputs not in --shapes: batch=2,sequence=16")
    ap.add_argument("--case", help="fixture case folder: use its input_*.npy and, as reference, its output_*.npy")
    ap.add_argument("--vocab", type=int, help="range of integer id inputs (default: meta.json's vocab_size, else 100)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rtol", type=float, default=1e-4, help="fail if max abs diff > rtol * max(1, scale)")
    ap.add_argument("--classifier-output", help="output whose argmax is checked (default: meta.json's, else 'logits')")
    ap.add_argument("--ort-optimized", action="store_true", help="reference with ORT graph optimizations on")
    ap.add_argument("--workdir", help="where inputs and out.json go (default: a temporary folder, removed on success)")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--kiln-arg", action="append", default=[], help="extra argument for kiln (repeatable)")
    args = ap.parse_args()

    meta = load_meta(args.model)
    classifier = args.classifier_output or meta.get("classifier_output") or "logits"

    if args.case:
        inputs, ref = load_case(args.case)
        print(f"reference: stored outputs in {args.case}")
    else:
        sess = ort_session(args.model, optimized=args.ort_optimized)
        vocab = args.vocab or meta.get("vocab_size") or 100
        inputs = make_inputs(sess, parse_shapes(args.shapes), parse_dims(args.dims), vocab, args.seed)
        names = [o.name for o in sess.get_outputs()]
        ref = dict(zip(names, sess.run(names, inputs)))
        print("reference: onnxruntime (graph optimizations %s)" % ("on" if args.ort_optimized else "off"))
    for n, v in inputs.items():
        print(f"  input {n}: {v.dtype} {list(v.shape)}")
    for n, v in ref.items():
        print(f"  output {n}: {v.dtype} {list(v.shape)}, max |v| {np.max(np.abs(v)) if v.size else 0:.3e}")

    workdir = args.workdir or tempfile.mkdtemp(prefix="kiln-compare-")
    os.makedirs(workdir, exist_ok=True)
    files = {}
    for n, v in inputs.items():
        files[n] = os.path.join(workdir, f"input_{n}.npy")
        np.save(files[n], np.ascontiguousarray(v), allow_pickle=False)
    for n, v in ref.items():
        np.save(os.path.join(workdir, f"expected_{n}.npy"), v, allow_pickle=False)

    if not args.kiln:
        print(f"no --kiln: inputs and expected outputs written to {workdir}")
        return 0

    got = run_kiln(args.kiln, args.model, files, os.path.join(workdir, "out.json"), args.kiln_arg, args.timeout)
    if got is None:
        print(f"files kept in {workdir}")
        return 2
    ok = compare(ref, got, args.rtol, classifier)
    if ok and not args.workdir:
        shutil.rmtree(workdir)
    elif not ok:
        print(f"files kept in {workdir}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
