#!/usr/bin/env python3
"""Exports the model-test networks from PyTorch to ONNX, the way users usually do it.

Runs in the export venv made by scripts/install_export_deps.sh (Debian's torch 1.13 and
torchvision 0.14, transformers 4.36.2):

    .cache/export-venv/bin/python scripts/export_models.py --size small --out tests/models
    .cache/export-venv/bin/python scripts/export_models.py --size full  --out .cache/models

Each model is written to OUT/<name>/model.onnx with OUT/<name>/meta.json beside it.
Weights are random (seeded); nothing is downloaded.

  --size small: tiny versions of the architectures (each well under 3 MB), committed as
                test fixtures (scripts/make_fixtures.py adds inputs and reference outputs).
  --size full:  the real architectures (resnet50, mobilenet_v2, vit_b_16, bert-base,
                distilbert-base, gpt2), for the ignored cache.

Export settings: torch.onnx.export with do_constant_folding=True, a dynamic batch axis
(and a dynamic sequence axis for the text models); opset 14 for resnet, mobilenet, bert and
distilbert (LayerNorm is decomposed into ReduceMean/Sub/Pow/Sqrt/Div), opset 17 for vit and
gpt2 (LayerNorm becomes a single LayerNormalization op).

After writing each model it checks it with onnx.checker and runs it in the venv's
onnxruntime at the traced shapes and at different ones, against torch's own outputs.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision
import transformers
from torchvision.models.resnet import Bottleneck, ResNet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import make_input  # noqa: E402  (numpy only; same input rules as the fixtures)

TEXT_OPSET = 14
ALL_MODELS = ["resnet50", "mobilenet_v2", "vit", "bert", "distilbert", "gpt2"]


# ----------------------------------------------------------------------------------------
# weight randomization


def randomize(model, seed, calib_input=None):
    """Makes a freshly built model's numbers less degenerate than its default init:
    BatchNorm affine parameters become random and its running statistics are measured on
    random inputs (calib_input, in training mode), as training would leave them: with the
    default mean 0 / var 1 the signal fades layer by layer and the outputs hardly depend on
    the inputs. Parameters that start all-zero (biases, ViT's classification head and class
    token) get small random values, so that a dropped bias or a zero head would show."""
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() > 0 and not torch.any(p != 0):
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
        for m in bns:
            if m.affine:
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
        if bns and calib_input is not None:
            was_training = model.training
            for m in bns:
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
            model.train()
            for _ in range(2):
                model(torch.randn(calib_input, generator=g))
            model.train(was_training)
            for m in bns:
                m.momentum = 0.1
    return model


# ----------------------------------------------------------------------------------------
# model definitions


class SmallResNet(ResNet):
    """torchvision's ResNet (its own forward, blocks and stem) with every stage's width
    divided by `div`: Bottleneck planes 64/128/256/512 become 8/16/32/64 for div=8."""

    def __init__(self, layers, div, num_classes):
        self._div = div
        super().__init__(Bottleneck, layers, num_classes=num_classes)
        self.fc = torch.nn.Linear(512 // div * Bottleneck.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        return super()._make_layer(block, planes // self._div, blocks, stride, dilate)


def vision_spec(name, model, image, opset):
    return dict(
        name=name,
        model=model,
        opset=opset,
        input_names=["input"],
        output_names=["logits"],
        inputs={"input": {"dtype": "float32", "shape": ["batch", 3, image, image]}},
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        classifier_output="logits",
        trace_dims={"batch": 2},
        check_dims=[{"batch": 1}, {"batch": 3}],
    )


def text_spec(name, model, input_names, opset, vocab, max_seq, per_token_output):
    shape = ["batch", "sequence"]
    out_axes = {0: "batch", 1: "sequence"} if per_token_output else {0: "batch"}
    return dict(
        name=name,
        model=model,
        opset=opset,
        input_names=input_names,
        output_names=["logits"],
        inputs={n: {"dtype": "int64", "shape": shape} for n in input_names},
        dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in input_names}, "logits": out_axes},
        classifier_output="logits",
        vocab_size=vocab,
        max_sequence=max_seq,
        trace_dims={"batch": 2, "sequence": 8},
        check_dims=[{"batch": 1, "sequence": 5}, {"batch": 3, "sequence": 13}],
    )


def build_resnet50(size):
    if size == "small":
        # Bottleneck ResNet, 2 blocks per stage (so both downsample and identity shortcuts
        # appear), widths / 8, 10 classes, 64x64 input.
        return vision_spec("resnet50", SmallResNet([2, 2, 2, 2], div=8, num_classes=10), 64, 14)
    return vision_spec("resnet50", torchvision.models.resnet50(weights=None), 224, 14)


def build_mobilenet_v2(size):
    if size == "small":
        m = torchvision.models.mobilenet_v2(weights=None, width_mult=0.25, num_classes=10)
        return vision_spec("mobilenet_v2", m, 64, 14)
    return vision_spec("mobilenet_v2", torchvision.models.mobilenet_v2(weights=None), 224, 14)


def build_vit(size):
    if size == "small":
        m = torchvision.models.VisionTransformer(
            image_size=32, patch_size=8, num_layers=2, num_heads=2,
            hidden_dim=32, mlp_dim=64, num_classes=10)
        return vision_spec("vit", m, 32, 17)
    return vision_spec("vit", torchvision.models.vit_b_16(weights=None), 224, 17)


def hf_common(size):
    # Small: a larger init range than HF's 0.02 so that attention is far from uniform and
    # the logits are not all near zero.
    return dict(initializer_range=0.1) if size == "small" else {}


def build_bert(size):
    if size == "small":
        cfg = transformers.BertConfig(
            vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=128, max_position_embeddings=64, num_labels=2, **hf_common(size))
    else:
        cfg = transformers.BertConfig(num_labels=2)  # bert-base-uncased's architecture
    cfg.return_dict = False
    m = transformers.BertForSequenceClassification(cfg)
    return text_spec("bert", m, ["input_ids", "attention_mask", "token_type_ids"], TEXT_OPSET,
                     cfg.vocab_size, cfg.max_position_embeddings, per_token_output=False)


def build_distilbert(size):
    if size == "small":
        cfg = transformers.DistilBertConfig(
            vocab_size=1000, dim=64, n_layers=2, n_heads=2, hidden_dim=128,
            max_position_embeddings=64, num_labels=2, **hf_common(size))
    else:
        cfg = transformers.DistilBertConfig(num_labels=2)  # distilbert-base-uncased
    cfg.return_dict = False
    m = transformers.DistilBertForSequenceClassification(cfg)
    return text_spec("distilbert", m, ["input_ids", "attention_mask"], TEXT_OPSET,
                     cfg.vocab_size, cfg.max_position_embeddings, per_token_output=False)


def build_gpt2(size):
    if size == "small":
        cfg = transformers.GPT2Config(
            vocab_size=1000, n_embd=64, n_layer=2, n_head=2, n_positions=64, **hf_common(size))
    else:
        cfg = transformers.GPT2Config()  # gpt2 (124M)
    cfg.use_cache = False
    cfg.return_dict = False
    m = transformers.GPT2LMHeadModel(cfg)
    spec = text_spec("gpt2", m, ["input_ids", "attention_mask"], 17,
                     cfg.vocab_size, cfg.n_positions, per_token_output=True)
    # GPT2LMHeadModel.forward(input_ids, past_key_values, attention_mask, ...): pass the
    # mask by keyword (a trailing dict in torch.onnx.export's args).
    spec["kwarg_inputs"] = ["attention_mask"]
    return spec


BUILDERS = {
    "resnet50": build_resnet50,
    "mobilenet_v2": build_mobilenet_v2,
    "vit": build_vit,
    "bert": build_bert,
    "distilbert": build_distilbert,
    "gpt2": build_gpt2,
}


# ----------------------------------------------------------------------------------------
# inputs


def concrete(shape, dims):
    return [dims[d] if isinstance(d, str) else d for d in shape]


def make_inputs(spec, dims, seed):
    """Random inputs for the given values of the symbolic dims (make_fixtures.make_input)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in spec["input_names"]:
        info = spec["inputs"][name]
        shape = concrete(info["shape"], dims)
        out[name] = make_input(name, info["dtype"], shape, rng, spec.get("vocab_size"))
    return out


# ----------------------------------------------------------------------------------------
# export


def torch_forward(spec, inputs):
    model = spec["model"]
    kw = set(spec.get("kwarg_inputs", []))
    args = [torch.from_numpy(inputs[n]) for n in spec["input_names"] if n not in kw]
    kwargs = {n: torch.from_numpy(inputs[n]) for n in spec["input_names"] if n in kw}
    with torch.no_grad():
        out = model(*args, **kwargs)
    if isinstance(out, (tuple, list)):
        out = out[0]
    return [out.numpy()]


def export(spec, path):
    model = spec["model"]
    inputs = make_inputs(spec, spec["trace_dims"], seed=1)
    kw = spec.get("kwarg_inputs", [])
    args = [torch.from_numpy(inputs[n]) for n in spec["input_names"] if n not in kw]
    if kw:
        args.append({n: torch.from_numpy(inputs[n]) for n in kw})
    torch.onnx.export(
        model,
        tuple(args),
        path,
        export_params=True,
        opset_version=spec["opset"],
        do_constant_folding=True,
        input_names=spec["input_names"],
        output_names=spec["output_names"],
        dynamic_axes=spec["dynamic_axes"],
    )


def check(spec, path):
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 0.0
    for i, dims in enumerate([spec["trace_dims"]] + spec["check_dims"]):
        inputs = make_inputs(spec, dims, seed=100 + i)
        ref = torch_forward(spec, inputs)
        got = sess.run(spec["output_names"], inputs)
        for r, g in zip(ref, got):
            if r.shape != g.shape:
                raise RuntimeError(f"{spec['name']}: ORT shape {g.shape} != torch {r.shape} at {dims}")
            diff = float(np.max(np.abs(r - g)))
            scale = max(1.0, float(np.max(np.abs(r))))
            worst = max(worst, diff / scale)
            if diff > 1e-3 * scale:
                raise RuntimeError(f"{spec['name']}: ORT differs from torch by {diff} at {dims}")
    return worst


def op_counts(path):
    import onnx

    m = onnx.load(path, load_external_data=False)
    counts = {}

    def walk(g):
        for n in g.node:
            counts[n.op_type] = counts.get(n.op_type, 0) + 1
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)

    walk(m.graph)
    return dict(sorted(counts.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=["small", "full"], required=True)
    ap.add_argument("--out", required=True, help="output folder; models go to OUT/<name>/model.onnx")
    ap.add_argument("--models", nargs="+", choices=ALL_MODELS, default=ALL_MODELS)
    ap.add_argument("--no-check", action="store_true", help="skip the onnx checker / ORT-vs-torch check")
    args = ap.parse_args()

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for i, name in enumerate(args.models):
        t0 = time.time()
        torch.manual_seed(1234 + ALL_MODELS.index(name))
        spec = BUILDERS[name](args.size)
        spec["model"].eval()
        calib = None
        if spec["inputs"].get("input", {}).get("dtype") == "float32":
            calib = concrete(spec["inputs"]["input"]["shape"], {"batch": 8})
        randomize(spec["model"], seed=4321 + ALL_MODELS.index(name), calib_input=calib)
        spec["model"].eval()
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "model.onnx")
        export(spec, path)
        meta = {
            "opset": spec["opset"],
            "classifier_output": spec["classifier_output"],
            "source": (f"torch {torch.__version__} torch.onnx.export (torchvision {torchvision.__version__}, "
                       f"transformers {transformers.__version__}), {args.size} {type(spec['model']).__name__}, "
                       f"random weights, do_constant_folding=True; scripts/export_models.py"),
            "inputs": spec["inputs"],
            "outputs": spec["output_names"],
            "dynamic_axes": {k: {str(a): n for a, n in v.items()} for k, v in spec["dynamic_axes"].items()},
        }
        for k in ("vocab_size", "max_sequence"):
            if k in spec:
                meta[k] = spec[k]
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        msg = f"{name}: {path} {os.path.getsize(path) / 1e6:.2f} MB, opset {spec['opset']}"
        if not args.no_check:
            msg += f", ORT vs torch max rel diff {check(spec, path):.2e}"
        print(f"{msg} ({time.time() - t0:.1f} s)", flush=True)
        print("  ops:", json.dumps(op_counts(path)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
