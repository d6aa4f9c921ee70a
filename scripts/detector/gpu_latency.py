"""Latency of the committed ONNX detector on a CUDA GPU, for comparison with seed 000's 150 ms p95.

The ONNX file itself is converted to PyTorch with onnx2torch (no retraining, the same graph and
weights) and checked against onnxruntime on the CPU before timing. Each timed call is one photo:
the letterboxed input copied host -> GPU, the model, the output copied back, as an endpoint
serving one request at a time would do. Photo decoding and letterboxing stay on the CPU and are
not included (the Rust bench measures the whole path on a CPU core). PyTorch lets cuDNN use TF32
for convolutions by default, so outputs differ from onnxruntime's by a few hundredths (box
coordinates are in input pixels, up to 320).

Measured on an H100 (1000 runs after 50 warm-ups): committed model p50 1.30 ms, p95 1.49 ms;
first release p50 1.39 ms, p95 1.50 ms; max difference from onnxruntime 0.039 and 0.044.

Usage: python3 scripts/detector/gpu_latency.py [--model models/damage-detector.onnx] [--runs 1000]
Needs: torch with CUDA, onnx, onnx2torch, onnxruntime, numpy.
"""

import argparse
import json
import time

import numpy as np
import onnx
import onnxruntime
import torch
from onnx2torch import convert


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/damage-detector.onnx")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    args = ap.parse_args()

    proto = onnx.load(args.model)
    size = json.loads(next(p.value for p in proto.metadata_props if p.key == "imgsz"))[0]
    rng = np.random.default_rng(20261123)
    sample = rng.random((1, 3, size, size), dtype=np.float32)

    reference = onnxruntime.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    expected = reference.run(None, {reference.get_inputs()[0].name: sample})[0]

    device = torch.device("cuda")
    model = convert(proto).eval().to(device)
    with torch.inference_mode():
        got = model(torch.from_numpy(sample).to(device)).cpu().numpy()
    max_diff = float(np.abs(got - expected).max())

    latencies = []
    with torch.inference_mode():
        for i in range(args.warmup + args.runs):
            started = time.perf_counter()
            x = torch.from_numpy(sample).to(device)
            y = model(x).cpu()
            elapsed = (time.perf_counter() - started) * 1000.0
            if i >= args.warmup:
                latencies.append(elapsed)
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    print(json.dumps({
        "model": args.model,
        "device": torch.cuda.get_device_name(device),
        "input": [1, 3, size, size],
        "output": list(y.shape),
        "max_abs_diff_vs_onnxruntime": max_diff,
        "runs": args.runs,
        "latency_ms": {"p50": round(p50, 3), "p95": round(p95, 3), "p99": round(p99, 3)},
    }))


if __name__ == "__main__":
    main()
