"""Statistics, output comparison, tables and the ratio chart of bench/run_bench.py."""
import os

import numpy as np

from workers import ENGINE_NAMES


def latency_stats(lat_ms, batch):
    a = np.asarray(lat_ms, dtype=np.float64)
    return {"n": int(a.size), "median_ms": float(np.median(a)), "p99_ms": float(np.percentile(a, 99)),
            "mean_ms": float(a.mean()), "min_ms": float(a.min()),
            "throughput_per_s": float(batch * 1e3 / a.mean())}


def compare_dirs(ref_dir, got_dir, names, classifier=None):
    """Model tests' rule: max |got - ref| <= 1e-4 * max(1, max |ref|) per output (integer
    outputs exactly). -> {"ok", "max_abs_diff", "worst_ratio" (diff / tolerance),
    "argmax_agree" (fraction of rows of the classifier output with the same argmax)}"""
    out = {"ok": True, "max_abs_diff": 0.0, "worst_ratio": 0.0}
    for name in names:
        ref = np.load(os.path.join(ref_dir, name + ".npy"))
        got = np.load(os.path.join(got_dir, name + ".npy"))
        if ref.shape != got.shape:
            return {"ok": False, "error": f"{name}: shape {list(got.shape)} != reference {list(ref.shape)}"}
        exact = not np.issubdtype(ref.dtype, np.floating)
        diff = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64)))) if ref.size else 0.0
        tol = 0.0 if exact else 1e-4 * max(1.0, float(np.max(np.abs(ref))) if ref.size else 0.0)
        out["max_abs_diff"] = max(out["max_abs_diff"], diff)
        out["worst_ratio"] = max(out["worst_ratio"], diff / tol if tol else (0.0 if diff == 0 else float("inf")))
        out["ok"] = out["ok"] and diff <= tol and bool(np.all(np.isfinite(got)))
        if name == classifier and ref.ndim >= 1 and ref.size:
            out["argmax_agree"] = float(np.mean(np.argmax(ref, -1) == np.argmax(got, -1)))
    return out


def merge_comparisons(parts):
    """Worst over the requests of a stream."""
    if any("error" in p for p in parts):
        return next(p for p in parts if "error" in p)
    merged = {"ok": all(p["ok"] for p in parts), "max_abs_diff": max(p["max_abs_diff"] for p in parts),
              "worst_ratio": max(p["worst_ratio"] for p in parts), "requests": len(parts)}
    agree = [p["argmax_agree"] for p in parts if "argmax_agree" in p]
    if agree:
        merged["argmax_agree"] = float(np.mean(agree))
    return merged


# ----------------------------------------------------------------------------------------
# tables


def _fmt_ms(ms):
    if ms is None:
        return "—"
    if ms < 0.1:
        return f"{ms * 1e3:.2f} µs"
    return f"{ms:.3f} ms" if ms < 10 else f"{ms:.1f} ms"


def _fmt(x, spec, suffix=""):
    return "—" if x is None else format(x, spec) + suffix


def headline_ms(engine_result, stream):
    """The figure ratios use: the median; for a stream of mixed lengths, the mean (total
    time over the stream; its median would be just the middle-length request)."""
    s = engine_result.get("stats")
    if not s:
        return None
    return s["mean_ms"] if stream else s["median_ms"]


def summary_rows(results):
    rows = ["| case | kiln | ONNX Runtime | OpenVINO | kiln / ORT | kiln / OV | GFLOP | kiln GFLOP/s (of peak) | outputs |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        e = r["engines"]
        stream = bool(r.get("stream"))
        ms = {k: headline_ms(e.get(k, {}), stream) for k in ("kiln", "ort", "ov")}
        agree = []
        for k in ("kiln", "ov"):
            c = e.get(k, {}).get("vs_ort")
            if c is not None:
                agree.append(f"{k} {'ok' if c.get('ok') else 'MISMATCH'}")
        errors = [f"{k} FAILED" for k in ("kiln", "ort", "ov") if e.get(k, {}).get("error")]
        gf = r.get("kiln_gflops")
        rows.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            r["label"] + (" (mean)" if stream else ""), _fmt_ms(ms["kiln"]), _fmt_ms(ms["ort"]), _fmt_ms(ms["ov"]),
            _fmt(r.get("kiln_over_ort"), ".2f", "x"), _fmt(r.get("kiln_over_ov"), ".2f", "x"),
            _fmt(r["flops"] / 1e9 if r.get("flops") else None, ".3g"),
            "—" if gf is None else f"{gf:.1f} ({100 * r['kiln_peak_fraction']:.0f}%)",
            ", ".join(agree + errors) or "—"))
    return rows


def detail_rows(results):
    rows = ["| case | engine | build/compile s | plan load s | median | p99 | throughput /s | peak RSS MiB | n | max diff vs ORT |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for k in ("kiln", "ort", "ov"):
            e = r["engines"].get(k)
            if e is None:
                continue
            if e.get("error"):
                rows.append(f"| {r['label']} | {ENGINE_NAMES[k]} | FAILED: {e['error'].splitlines()[0][:160].replace('|', '/')} |" + " |" * 7)
                continue
            s = e.get("stats", {})
            c = e.get("vs_ort")
            rows.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                r["label"], ENGINE_NAMES[k], _fmt(e.get("build_s"), ".2f"), _fmt(e.get("load_s"), ".3f"),
                _fmt_ms(s.get("median_ms")), _fmt_ms(s.get("p99_ms")), _fmt(s.get("throughput_per_s"), ".1f"),
                _fmt(e["peak_rss_kb"] / 1024 if e.get("peak_rss_kb") else None, ".0f"), s.get("n", "—"),
                "ref" if k == "ort" else ("—" if not c else c.get("error") or f"{c['max_abs_diff']:.2e}")))
    return rows


def stream_rows(results):
    rows = []
    for r in results:
        if not r.get("stream"):
            continue
        rows += [f"Stream {r['label']}: {len(r['stream'])} requests per pass, lengths {min(r['stream'])}-{max(r['stream'])}, "
                 "first pass (every shape new) and later passes:", "",
                 "| engine | first pass mean | first pass max | later passes mean | later passes p99 |", "|---|---|---|---|---|"]
        for k in ("kiln", "ort", "ov"):
            p = r["engines"].get(k, {}).get("passes")
            if not p:
                continue
            first, later = p[0], [x for q in p[1:] for x in q]
            rows.append("| {} | {} | {} | {} | {} |".format(
                ENGINE_NAMES[k], _fmt_ms(float(np.mean(first))), _fmt_ms(float(np.max(first))),
                _fmt_ms(float(np.mean(later)) if later else None),
                _fmt_ms(float(np.percentile(later, 99)) if later else None)))
        rows.append("")
    return rows


def markdown(doc):
    m = doc["machine"]
    lines = [f"# kiln vs ONNX Runtime vs OpenVINO ({doc['mode']})", "",
             f"{m['cpu']}, {m['cores']} cores, {doc['threads']} threads per engine; onnxruntime {m.get('onnxruntime')}, "
             f"openvino {m.get('openvino')}; kiln {m.get('kiln_commit')}; {doc['date']}; load average before "
             f"{m['load_before']}, after {m['load_after']}.", "",
             "Ratios are kiln's latency over the other engine's (below 1: kiln is faster).", ""]
    lines += [f"Note: {n}" for n in doc.get("notes", [])] + ([""] if doc.get("notes") else [])
    lines += summary_rows(doc["results"]) + [""] + detail_rows(doc["results"]) + [""] + stream_rows(doc["results"])
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------
# chart


def ratio_chart(doc, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in doc["results"] if r.get("kiln_over_ort") or r.get("kiln_over_ov")]
    if not rows:
        if os.path.exists(path):
            os.remove(path)  # not an older run's chart beside this run's numbers
        return False
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.6))
    y = np.arange(len(rows))
    h = 0.38
    for off, key, name, color in ((-h / 2, "kiln_over_ort", "kiln / ONNX Runtime", "#4c72b0"),
                                  (h / 2, "kiln_over_ov", "kiln / OpenVINO", "#dd8452")):
        vals = [r.get(key) or 0 for r in rows]
        bars = ax.barh(y + off, vals, h, label=name, color=color)
        for b, v in zip(bars, vals):
            if v:
                ax.text(v, b.get_y() + b.get_height() / 2, f" {v:.2f}", va="center", fontsize=8)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(y)
    ax.set_yticklabels([r["label"] for r in rows])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("latency ratio, kiln / other (log scale; left of 1 = kiln faster)")
    m = doc["machine"]
    ax.set_title(f"kiln vs ONNX Runtime and OpenVINO, {doc['threads']} threads ({m['cpu']}, {doc['mode']})", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
