#!/usr/bin/env python3
"""ONNX Runtime's side of bench/run_bench.py (protocol: bench/worker_protocol.py).

All graph optimizations, the CPU execution provider, intra_op_num_threads=--threads, one
inter-op thread. With --dims the symbolic dims are fixed (free dimension overrides), as
kiln's plan is built for the benchmark shape; without, the session stays dynamic. Timed
runs use an IOBinding with the inputs bound once, ORT's lowest-overhead Python path.
"""
import sys

import onnxruntime as ort

from worker_protocol import parse_common_args, serve


def session_options(threads, dims):
    """The benchmark's ONNX Runtime settings (also used by compare_profiles.py)."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    for name, value in dims.items():
        so.add_free_dimension_override_by_name(name, value)
    return so


class OrtEngine:
    def __init__(self, model, threads, dims):
        so = session_options(threads, dims)
        self.session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.feeds = {}
        self.binding = None
        self.last_outputs = None
        self.info = {"version": ort.__version__, "intra_op_num_threads": threads,
                     "graph_optimization_level": "ORT_ENABLE_ALL", "free_dimension_overrides": dims}

    def bind(self, name, array):
        self.feeds[name] = array
        self.binding = None

    def run(self):
        if self.binding is None:
            self.binding = self.session.io_binding()
            for name, array in self.feeds.items():
                self.binding.bind_cpu_input(name, array)
            for name in self.output_names:
                self.binding.bind_output(name, "cpu")
        self.session.run_with_iobinding(self.binding)
        self.last_outputs = None

    def outputs(self):
        return self.last_outputs if self.last_outputs is not None else self.binding.copy_outputs_to_cpu()

    def run_request(self, feeds):
        self.last_outputs = self.session.run(self.output_names, feeds)


def main():
    args = parse_common_args(__doc__)
    return serve(lambda: OrtEngine(args.model, args.threads, args.dims))


if __name__ == "__main__":
    sys.exit(main())
