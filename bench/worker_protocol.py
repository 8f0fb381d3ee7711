"""The line protocol every benchmark worker speaks (bench/kiln_worker.cpp documents it),
for the Python engines. An engine adapter has bind(name, array) and run() (the timed call,
inputs bound once), run_request(feeds) (bind and run one stream request, timed together),
outputs() (of whichever ran last, fetched outside the timing), output_names and info.

Only the protocol's JSON lines go to the real stdout: file descriptor 1 is pointed at
stderr first, so that a library printing a warning cannot corrupt an answer.
"""
import json
import os
import sys
import time

import numpy as np


def private_stdout():
    """A stream on the original stdout; fd 1 (and sys.stdout) now write to stderr."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def read_stream_list(path):
    """One request per line: "name=file.npy name=file.npy" -> [{name: array}]."""
    requests = []
    with open(path) as f:
        for line in f:
            words = line.split()
            if words:
                requests.append({w.split("=", 1)[0]: np.load(w.split("=", 1)[1]) for w in words})
    return requests


def dump(names, arrays, directory):
    os.makedirs(directory, exist_ok=True)
    for name, a in zip(names, arrays):
        np.save(os.path.join(directory, name + ".npy"), np.ascontiguousarray(a))


def handle(engine, words):
    command = words[0]
    if command == "input":
        engine.bind(words[1], np.load(words[2]))
        return {"ok": True}
    if command == "run":
        lat = []
        clock = time.perf_counter
        for _ in range(int(words[1])):
            start = clock()
            engine.run()
            lat.append((clock() - start) * 1e3)
        return {"lat_ms": lat}
    if command == "dump":
        dump(engine.output_names, engine.outputs(), words[1])
        return {"ok": True}
    if command == "stream":
        requests = read_stream_list(words[1])
        dump_dir = words[2] if len(words) > 2 else "-"
        lat = []
        for i, feeds in enumerate(requests):
            start = time.perf_counter()
            engine.run_request(feeds)
            lat.append((time.perf_counter() - start) * 1e3)
            if dump_dir != "-":
                dump(engine.output_names, engine.outputs(), os.path.join(dump_dir, str(i)))
        return {"lat_ms": lat}
    return {"error": "unknown command: " + " ".join(words)}


def serve(make_engine):
    """Creates the engine with make_engine() (timed: the engine's build/compile time) and
    answers commands until 'quit' or end of input."""
    out = private_stdout()

    def reply(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    start = time.perf_counter()
    try:
        engine = make_engine()
    except Exception as e:  # the engine's own message is the result
        reply({"error": f"{type(e).__name__}: {e}"})
        return 1
    reply({"ready": True, "load_s": time.perf_counter() - start, "info": engine.info})
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            return 0
        try:
            reply(handle(engine, words))
        except Exception as e:
            reply({"error": f"{type(e).__name__}: {e}"})
    return 0


def parse_common_args(description):
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--model", required=True, help="ONNX file")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--dims", default="", help="fix symbolic dims: batch=1,sequence=128 (empty: dynamic)")
    ap.add_argument("--shapes", default="", help="fix input shapes: input_ids:1x128,... (empty: dynamic)")
    args = ap.parse_args()
    args.dims = {k: int(v) for k, v in (p.split("=") for p in args.dims.split(",") if p)}
    args.shapes = {k: [int(d) for d in v.split("x")] for k, v in (p.rsplit(":", 1) for p in args.shapes.split(",") if p)}
    return args
