#!/usr/bin/env python3
"""OpenVINO's side of bench/run_bench.py (protocol: bench/worker_protocol.py).

CPU plugin, PERFORMANCE_HINT=LATENCY, INFERENCE_NUM_THREADS=--threads and
INFERENCE_PRECISION_HINT=f32: without that hint OpenVINO runs in bf16 on CPUs with
AVX512-BF16 (this one has it) and would be compared at a lower precision than the others.
With --shapes the model is reshaped to the benchmark shape before compiling (OpenVINO's
static-shape path, as kiln's plan is built for that shape); without, it stays dynamic.
The compiled model's effective precision and threads are reported back, to be checked.
"""
import sys

import numpy as np
import openvino as ov

from worker_protocol import parse_common_args, serve


class OvEngine:
    def __init__(self, model, threads, shapes):
        core = ov.Core()
        m = core.read_model(model)
        if shapes:
            m.reshape({name: ov.PartialShape(dims) for name, dims in shapes.items()})
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": str(threads),
                  "INFERENCE_PRECISION_HINT": "f32"}
        self.compiled = core.compile_model(m, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.output_names = [o.get_any_name() for o in self.compiled.outputs]
        self.keep = {}  # arrays the bound tensors share memory with
        self.info = {"version": ov.__version__, "config": config, "static_shapes": bool(shapes),
                     "effective": {k: str(self.compiled.get_property(k)) for k in
                                   ("INFERENCE_PRECISION_HINT", "INFERENCE_NUM_THREADS", "PERFORMANCE_HINT",
                                    "NUM_STREAMS")}}

    def bind(self, name, array):
        array = np.ascontiguousarray(array)
        self.keep[name] = array
        self.request.set_tensor(name, ov.Tensor(array, shared_memory=True))

    def run(self):
        self.request.infer()

    def outputs(self):
        return [self.request.get_output_tensor(i).data.copy() for i in range(len(self.output_names))]

    def run_request(self, feeds):
        for name, array in feeds.items():
            self.request.set_tensor(name, ov.Tensor(np.ascontiguousarray(array), shared_memory=True))
        self.request.infer()


def main():
    args = parse_common_args(__doc__)
    return serve(lambda: OvEngine(args.model, args.threads, args.shapes))


if __name__ == "__main__":
    sys.exit(main())
