"""What bench/run_bench.py measures: the cases (model, shapes, batch), their inputs (fixed
seeds, written once per run as .npy), the tiny one-Add model and the export of missing
full-size models.

Full mode uses the real architectures exported by scripts/export_models.py into
.cache/models (random weights); quick mode uses the small fixtures in tests/models, so a
smoke run takes a minute.
"""
import fcntl
import json
import os
import subprocess
import sys
import zlib
from dataclasses import dataclass, field

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from make_fixtures import make_input  # noqa: E402  (numpy only: the model tests' input rules)

EXPORT_PYTHON = os.path.join(ROOT, ".cache", "export-venv", "bin", "python")


@dataclass
class Case:
    name: str                 # "bert_b1_s128": results and files are keyed by it
    label: str                # for the table and the chart
    model_name: str           # folder under the models directory
    dims: dict                # symbolic dim -> size; for a stream, the warm-up dims
    stream: list = field(default_factory=list)  # sequence lengths of a mixed stream, else []
    stream_range: tuple = ()  # (min, max) sequence of the stream: kiln's profile bounds
    model_path: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def batch(self):
        return self.dims.get("batch", 1)

    def input_shapes(self, dims=None):
        dims = dims or self.dims
        return {n: [dims[d] if isinstance(d, str) else int(d) for d in info["shape"]]
                for n, info in self.meta["inputs"].items()}


def full_cases():
    return [
        Case("bert_b1_s128", "BERT-base b1 s128", "bert", {"batch": 1, "sequence": 128}),
        Case("bert_b8_s128", "BERT-base b8 s128", "bert", {"batch": 8, "sequence": 128}),
        Case("resnet50_b1", "ResNet-50 b1", "resnet50", {"batch": 1}),
        Case("resnet50_b8", "ResNet-50 b8", "resnet50", {"batch": 8}),
        Case("mobilenet_v2_b1", "MobileNetV2 b1", "mobilenet_v2", {"batch": 1}),
        Case("gpt2_b1_s128", "GPT-2 prefill b1 s128", "gpt2", {"batch": 1, "sequence": 128}),
        Case("vit_b1", "ViT-B/16 b1", "vit", {"batch": 1}),
        Case("bert_stream", "BERT-base stream s16-256", "bert", {"batch": 1, "sequence": 128},
             stream=stream_lengths(16, 256, 48), stream_range=(16, 256)),
        Case("tiny_add", "one Add, 16 floats", "tiny_add", {}),
    ]


def quick_cases():
    return [
        Case("bert_b1_s32", "BERT (small) b1 s32", "bert", {"batch": 1, "sequence": 32}),
        Case("bert_b4_s32", "BERT (small) b4 s32", "bert", {"batch": 4, "sequence": 32}),
        Case("resnet50_b1", "ResNet (small) b1", "resnet50", {"batch": 1}),
        Case("resnet50_b4", "ResNet (small) b4", "resnet50", {"batch": 4}),
        Case("mobilenet_v2_b1", "MobileNetV2 (small) b1", "mobilenet_v2", {"batch": 1}),
        Case("gpt2_b1_s32", "GPT-2 (small) b1 s32", "gpt2", {"batch": 1, "sequence": 32}),
        Case("vit_b1", "ViT (small) b1", "vit", {"batch": 1}),
        Case("bert_stream", "BERT (small) stream s4-64", "bert", {"batch": 1, "sequence": 32},
             stream=stream_lengths(4, 64, 12), stream_range=(4, 64)),
        Case("tiny_add", "one Add, 16 floats", "tiny_add", {}),
    ]


def stream_lengths(lo, hi, n, seed=2024):
    """n sequence lengths uniform in [lo, hi], the same every run."""
    return [int(x) for x in np.random.default_rng(seed).integers(lo, hi + 1, size=n)]


def case_seed(name):
    return zlib.crc32(name.encode())


# ----------------------------------------------------------------------------------------
# models


def write_tiny_add(path):
    """y = a + b over 16 floats: what is left is the engine's cost per inference."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"], name="add")], "tiny_add",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [16]) for n in ("a", "b")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)
    return {"inputs": {"a": {"dtype": "float32", "shape": [16]}, "b": {"dtype": "float32", "shape": [16]}},
            "outputs": ["y"]}


def exported(model_dir):
    """A finished export: export_models.py writes meta.json after model.onnx."""
    onnx_path, meta_path = (os.path.join(model_dir, f) for f in ("model.onnx", "meta.json"))
    return (os.path.exists(onnx_path) and os.path.exists(meta_path)
            and os.path.getmtime(meta_path) >= os.path.getmtime(onnx_path))


def export_missing(names, models_dir, log):
    """Exports the full-size models not yet in models_dir with torch (the export venv),
    holding a lock so that two benchmark runs never export into the same folder at once."""
    os.makedirs(models_dir, exist_ok=True)
    with open(os.path.join(models_dir, ".export.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = sorted({n for n in names if not exported(os.path.join(models_dir, n))})
        if not missing:
            return
        if not os.path.exists(EXPORT_PYTHON):
            raise SystemExit(f"models {missing} are not exported and {EXPORT_PYTHON} is missing: "
                             "run bench/install_bench_deps.sh")
        log(f"exporting {', '.join(missing)} with torch into {models_dir} (minutes; cached afterwards)")
        subprocess.run([EXPORT_PYTHON, os.path.join(ROOT, "scripts", "export_models.py"), "--size", "full",
                        "--out", models_dir, "--models", *missing], check=True, cwd=ROOT)


def attach_models(cases, models_dir, work_dir):
    for c in cases:
        if c.model_name == "tiny_add":
            c.model_path = os.path.join(work_dir, "models", "tiny_add.onnx")
            c.meta = write_tiny_add(c.model_path)
            continue
        d = os.path.join(models_dir, c.model_name)
        c.model_path = os.path.join(d, "model.onnx")
        with open(os.path.join(d, "meta.json")) as f:
            c.meta = json.load(f)


# ----------------------------------------------------------------------------------------
# inputs


def _write_inputs(case, dims, rng, directory):
    os.makedirs(directory, exist_ok=True)
    files = {}
    for name, shape in case.input_shapes(dims).items():
        info = case.meta["inputs"][name]
        a = np.ascontiguousarray(make_input(name, info["dtype"], shape, rng, case.meta.get("vocab_size")))
        files[name] = os.path.join(directory, name + ".npy")
        np.save(files[name], a)
    return files


def write_case_inputs(case, work_dir):
    """-> {input name: .npy path} at the case's dims; for a stream also the request list
    file (one line per request, "name=file.npy ...") that the workers' `stream` reads."""
    rng = np.random.default_rng(case_seed(case.name))
    base = os.path.join(work_dir, "inputs", case.name)
    files = _write_inputs(case, case.dims, rng, base)
    if not case.stream:
        return files, None
    lines = []
    for i, length in enumerate(case.stream):
        req = _write_inputs(case, {**case.dims, "sequence": length}, rng, os.path.join(base, "stream", str(i)))
        lines.append(" ".join(f"{n}={p}" for n, p in req.items()))
    list_file = os.path.join(base, "stream.txt")
    with open(list_file, "w") as f:
        f.write("\n".join(lines) + "\n")
    return files, list_file
