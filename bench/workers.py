"""Engine worker processes for bench/run_bench.py, and kiln's plan build.

Each engine runs in its own long-lived process per case (bench/kiln_worker.cpp,
bench/ort_worker.py, bench/ov_worker.py), so its peak RSS (VmHWM) is that engine's alone
and no engine's threads or allocator state leak into another's timings.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINES = ("kiln", "ort", "ov")
ENGINE_NAMES = {"kiln": "kiln", "ort": "ONNX Runtime", "ov": "OpenVINO"}


class WorkerError(RuntimeError):
    pass


def shapes_spec(shapes):
    """{name: [1, 128]} -> "name:1x128,..." (kiln's and the workers' syntax)"""
    return ",".join(f"{n}:{'x'.join(str(d) for d in s)}" for n, s in shapes.items())


def thread_env(threads):
    env = dict(os.environ)
    # kiln's kernels run on oneDNN's OpenMP threads; the Python workers set their engine's
    # threads explicitly and must not get extra BLAS threads from numpy.
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def vm_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


class Worker:
    """One engine process speaking the line protocol (see bench/kiln_worker.cpp)."""

    def __init__(self, engine, argv, env, log_path):
        self.engine = engine
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     env=env, text=True, bufsize=1, cwd=HERE)
        ready = self._read()
        if "error" in ready:
            self.close()
            raise WorkerError(ready["error"])
        self.load_s = ready["load_s"]
        self.info = ready.get("info", {})

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise WorkerError(f"{self.engine} worker exited with status {self.proc.returncode} "
                              f"(its stderr: {self.log.name})")
        return json.loads(line)

    def ask(self, *words):
        self.proc.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise WorkerError(answer["error"])
        return answer

    def peak_rss_kb(self):
        return vm_kb(self.proc.pid, "VmHWM")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def snapshot_kiln(build_dir, dest_dir):
    """Copies the kiln CLI and worker out of the build folder, so that one run measures one
    kiln even while the build folder is being rebuilt. -> the folder to use as build_dir."""
    os.makedirs(os.path.join(dest_dir, "bench"), exist_ok=True)
    for rel in ("kiln", os.path.join("bench", "kiln_bench_worker")):
        shutil.copy2(os.path.join(build_dir, rel), os.path.join(dest_dir, rel))
    check = subprocess.run([os.path.join(dest_dir, "kiln"), "--help"], capture_output=True)
    if check.returncode != 0:
        raise WorkerError(f"{build_dir}/kiln does not run (being relinked?): exit {check.returncode}")
    return dest_dir


def start_worker(engine, case, plan, threads, build_dir, log_dir, static):
    """static: fix the input shapes (the case's dims) where the engine takes them."""
    env = thread_env(threads)
    log_path = os.path.join(log_dir, f"{case.name}.{engine}.log")
    if engine == "kiln":
        argv = [os.path.join(build_dir, "bench", "kiln_bench_worker"), f"--plan={plan}"]
    else:
        argv = [sys.executable, os.path.join(HERE, f"{engine}_worker.py"), "--model", case.model_path,
                "--threads", str(threads)]
        if static:
            argv += ["--dims", ",".join(f"{k}={v}" for k, v in case.dims.items()),
                     "--shapes", shapes_spec(case.input_shapes())]
    try:
        return Worker(engine, argv, env, log_path)
    except OSError as e:
        raise WorkerError(f"cannot start {argv[0]}: {e}") from e


def build_kiln_plan(case, plan, threads, build_dir, log_dir):
    """Builds the plan with the kiln CLI as a user would (trtexec's --saveEngine). A fixed
    case gets one profile at its shapes; a stream one profile over its whole range, with
    the warm-up shape as opt. -> {"build_s", "engine_build_ms", "peak_rss_kb"}"""
    if os.path.exists(plan):
        os.remove(plan)
    argv = [os.path.join(build_dir, "kiln"), f"--onnx={case.model_path}", f"--saveEngine={plan}", "--skipInference"]
    if case.stream:
        lo, hi = case.stream_range
        argv += [f"--minShapes={shapes_spec(case.input_shapes({**case.dims, 'sequence': lo}))}",
                 f"--optShapes={shapes_spec(case.input_shapes())}",
                 f"--maxShapes={shapes_spec(case.input_shapes({**case.dims, 'sequence': hi}))}"]
    elif case.dims:
        argv += [f"--optShapes={shapes_spec(case.input_shapes())}"]
    log_path = os.path.join(log_dir, f"{case.name}.kiln-build.log")
    start = time.perf_counter()
    with open(log_path, "w") as log:
        log.write(" ".join(argv) + "\n")
        log.flush()
        try:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=thread_env(threads))
        except OSError as e:
            raise WorkerError(f"cannot start {argv[0]}: {e}") from e
        # Peak RSS: the child's own VmHWM once it runs kiln, read until it exits (the last
        # reading is the peak: it only grows); None for a build too short to watch. Not
        # wait4's ru_maxrss, which Linux carries over exec from the forked copy of this
        # (much larger) Python process.
        peak_kb, exe = None, os.path.realpath(argv[0])
        while proc.poll() is None:
            try:
                if os.readlink(f"/proc/{proc.pid}/exe") == exe:
                    peak_kb = vm_kb(proc.pid, "VmHWM") or peak_kb
            except OSError:
                pass
            time.sleep(0.01)
    build_s = time.perf_counter() - start
    with open(log_path) as f:
        text = f.read()
    if proc.returncode != 0:
        errors = [line for line in text.splitlines() if line.startswith("[E]")]
        raise WorkerError("kiln build failed (exit %d): %s" % (proc.returncode, "\n".join(errors) or text[-2000:]))
    m = re.search(r"Engine built in ([0-9.]+) ms", text)
    return {"build_s": build_s, "engine_build_ms": float(m.group(1)) if m else None,
            "peak_rss_kb": peak_kb if build_s > 0.2 else None, "log": log_path}  # too short to be seen
