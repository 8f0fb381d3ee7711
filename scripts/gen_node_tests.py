#!/usr/bin/env python3
"""Writes ONNX's backend node test cases (model.onnx + test_data_set_N/{input,output}_K.pb).

Recent onnx wheels ship the case generators (onnx/backend/test/case/node/*.py) but not the
generated .pb files, so this script runs the wheel's own generators. The expected outputs
come from those generators (numpy code and onnx's reference implementation), never from kiln.
Usage: gen_node_tests.py OUTPUT_DIR
"""
import json
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.case import node as node_cases


def write_tensor(path, value, name):
    if isinstance(value, onnx.TensorProto):
        data = value.SerializeToString()
    elif isinstance(value, np.ndarray) or np.isscalar(value):
        data = numpy_helper.from_array(np.asarray(value), name).SerializeToString()
    else:
        return False  # sequences, maps, optionals: kiln supports tensors only
    with open(path, "wb") as f:
        f.write(data)
    return True


def main():
    out_dir = sys.argv[1]
    stamp = os.path.join(out_dir, "onnx_version.txt")
    if os.path.exists(stamp) and open(stamp).read().strip() == onnx.__version__:
        print(f"node tests for onnx {onnx.__version__} already in {out_dir}")
        return
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases()
    written = 0
    for case in cases:
        case_dir = os.path.join(out_dir, case.name)
        os.makedirs(case_dir)
        with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        with open(os.path.join(case_dir, "tolerance.json"), "w") as f:
            json.dump({"rtol": case.rtol, "atol": case.atol}, f)
        graph = case.model.graph
        for i, (inputs, outputs) in enumerate(case.data_sets):
            set_dir = os.path.join(case_dir, f"test_data_set_{i}")
            os.makedirs(set_dir)
            ok = True
            for j, value in enumerate(inputs):
                ok &= write_tensor(os.path.join(set_dir, f"input_{j}.pb"), value, graph.input[j].name)
            for j, value in enumerate(outputs):
                ok &= write_tensor(os.path.join(set_dir, f"output_{j}.pb"), value, graph.output[j].name)
            if not ok:
                open(os.path.join(set_dir, "non_tensor_values"), "w").close()
        written += 1
    with open(stamp, "w") as f:
        f.write(onnx.__version__ + "\n")
    print(f"wrote {written} node test cases for onnx {onnx.__version__} into {out_dir}")


if __name__ == "__main__":
    main()
