"""FLOPs of one inference: 2*M*N*K summed over every MatMul, Gemm and Conv of the ONNX
graph, at the benchmark's input shapes. Elementwise ops, softmax and normalizations are
left out (a few percent at most on these networks), so achieved GFLOP/s slightly
underestimates the work done.

Shapes come from onnx.shape_inference with the inputs made static. Its data propagation
stops at ops such as Slice whose bounds are computed from Shape (HF's position ids), which
leaves the batch dim of every later MatMul unknown; the shapes still unknown then are
measured: ONNX Runtime (optimizations off) runs the model once on the benchmark inputs
with those values added as graph outputs.

Large initializers are turned into graph inputs of the same type and shape before shape
inference: it needs their shapes only, and this keeps a 500 MB model from being copied.
"""
import json
import math
import os

import onnx
from onnx import helper, numpy_helper, shape_inference

COUNTED_OPS = ("MatMul", "Gemm", "Conv")


def _fix_input_shapes(graph, shapes):
    for inp in graph.input:
        if inp.name in shapes:
            dims = inp.type.tensor_type.shape.dim
            for d, v in zip(dims, shapes[inp.name]):
                d.ClearField("dim_param")
                d.dim_value = int(v)


def _weights_as_inputs(graph, keep_below=4096):
    """Large initializers become inputs (shape only); small ones (shape constants) stay."""
    kept = []
    for init in graph.initializer:
        if math.prod(init.dims) < keep_below:
            kept.append(init)
        else:
            graph.input.append(helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _shapes_of(graph):
    shapes = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
            shapes[vi.name] = dims
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
    return shapes


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _node_flops(node, shapes):
    """2*M*N*K of one node, or None when a shape it needs is unknown."""
    out = shapes.get(node.output[0])
    ins = [shapes.get(n) for n in node.input[:2]]
    if out is None or any(s is None for s in ins) or None in out or any(None in s for s in ins):
        return None
    a, b = ins
    if node.op_type == "MatMul":
        return 2 * math.prod(out) * a[-1]
    if node.op_type == "Gemm":
        k = a[0] if _attr(node, "transA", 0) else a[1]
        return 2 * math.prod(out) * k
    if node.op_type == "Conv":  # b: weights [M, C/group, k1, k2, ...]
        return 2 * math.prod(out) * math.prod(b[1:])
    return 0


class _Measurer:
    """Runs the model in ONNX Runtime (optimizations off) with chosen values added as graph
    outputs; one session serves every input shape of a case."""

    def __init__(self, model_path, names):
        import onnxruntime as ort

        model = onnx.load(model_path)
        present = {o.name for o in model.graph.output}
        model.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names if n not in present)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        self.session = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        self.names = list(names)

    def shapes(self, feeds):
        return {n: list(v.shape) for n, v in zip(self.names, self.session.run(self.names, feeds))}


def count_flops(model_path, feeds_list):
    """feeds_list: one {input name: array} per input shape wanted.
    -> [{"flops": total, "nodes": counted, "measured": nodes whose shapes came from a run}]"""
    model = onnx.load(model_path)
    _weights_as_inputs(model.graph)
    results, pending = [], []
    for feeds in feeds_list:
        static = onnx.ModelProto()
        static.CopyFrom(model)
        _fix_input_shapes(static.graph, {k: v.shape for k, v in feeds.items()})
        inferred = shape_inference.infer_shapes(static, data_prop=True)
        shapes = _shapes_of(inferred.graph)
        nodes = [n for n in inferred.graph.node if n.op_type in COUNTED_OPS]
        unknown = [n for n in nodes if _node_flops(n, shapes) is None]
        results.append((nodes, shapes, len(unknown)))
        pending += [v for n in unknown for v in list(n.input[:2]) + [n.output[0]]
                    if shapes.get(v) is None or None in shapes[v]]
    del model
    measurer = _Measurer(model_path, sorted(set(pending))) if pending else None
    out = []
    for feeds, (nodes, shapes, unknown) in zip(feeds_list, results):
        if unknown:
            shapes.update(measurer.shapes(feeds))
        out.append({"flops": sum(_node_flops(n, shapes) for n in nodes), "nodes": len(nodes), "measured": unknown})
    return out


def cached_flops(model_path, feeds_list, cache_file):
    """count_flops, remembered in cache_file by model path, size, mtime and input shapes."""
    st = os.stat(model_path)
    keys = [json.dumps([os.path.abspath(model_path), st.st_size, int(st.st_mtime),
                        sorted((k, list(v.shape)) for k, v in feeds.items())]) for feeds in feeds_list]
    cache = {}
    if os.path.exists(cache_file):
        with open(cache_file) as f:
            cache = json.load(f)
    todo = [i for i, k in enumerate(keys) if k not in cache]
    if todo:
        for i, r in zip(todo, count_flops(model_path, [feeds_list[i] for i in todo])):
            cache[keys[i]] = r
        os.makedirs(os.path.dirname(cache_file), exist_ok=True)
        tmp = cache_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(cache, f, indent=1)
        os.replace(tmp, cache_file)
    return [cache[k] for k in keys]


if __name__ == "__main__":  # python3 bench/flops.py model.onnx input_ids=ids.npy ...
    import sys

    import numpy as np

    feeds = {k: np.load(v) for k, v in (a.split("=", 1) for a in sys.argv[2:])}
    r = count_flops(sys.argv[1], [feeds])[0]
    print(f"{r['flops'] / 1e9:.3f} GFLOP over {r['nodes']} nodes ({r['measured']} shapes measured by a run)")
