"""Trains the small damage detector on `synth-photos` output and exports it as ONNX with the
Ultralytics YOLOv8 output layout: `output0` of shape [1, 4 + classes, anchors], rows 0-3 the box
centre and size (cx, cy, w, h) in input pixels, then one sigmoid score per class.

The recipe is fixed by the arguments' defaults and the seed; see models/README.md. It runs on a CPU
or, much faster, on a GPU (JAX picks the device).

Usage (from the repository root, after scripts/detector/make_dataset.sh):
    scripts/detector/.venv/bin/python scripts/detector/train.py \
        --data scripts/detector/data --out models/damage-detector.onnx
"""

import argparse
import functools
import glob
import json
import multiprocessing
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

LABELS = ["scratch", "dent"]
NUM_CLASSES = len(LABELS)
STRIDE = 8  # one output level
PAD = 114.0 / 255.0
BN_EPS = 1e-5
BN_MOMENTUM = 0.03

# The architecture's globals, set by `configure` (main calls it with the command-line values).
SIZE = GRID = ANCHORS = None  # square model input, output grid side, anchors
LAYERS = None  # (in channels, out channels, stride, dilation) of the 3x3 convolutions; SiLU after each
RESIDUAL = None  # whether a stride-1 layer adds its input to its output
CONFIG = None  # the arguments of `configure`, for worker processes
ANCHOR_X = ANCHOR_Y = None  # anchor centres in input pixels; anchor a = gy * GRID + gx


def configure(size, widths, residual):
    """Sets the architecture: `size` the square input (a multiple of 8), `widths` the channels of the
    three stride-2 convolutions and of the four dilated stride-1 ones (dilations 1, 2, 4, 8)."""
    global SIZE, GRID, ANCHORS, LAYERS, RESIDUAL, ANCHOR_X, ANCHOR_Y, CONFIG
    CONFIG = (size, widths, residual)
    assert size % STRIDE == 0, "the input size must be a multiple of the stride"
    c1, c2, c3, c4 = widths
    SIZE, GRID = size, size // STRIDE
    ANCHORS = GRID * GRID
    LAYERS = [(3, c1, 2, 1), (c1, c2, 2, 1), (c2, c3, 2, 1),
              (c3, c4, 1, 1), (c4, c4, 1, 2), (c4, c4, 1, 4), (c4, c4, 1, 8)]
    RESIDUAL = residual
    cells = (np.arange(GRID, dtype=np.float32) + 0.5) * STRIDE
    ANCHOR_X, ANCHOR_Y = np.tile(cells, GRID), np.repeat(cells, GRID)


def is_residual(layer):
    cin, cout, stride, _ = layer
    return RESIDUAL and stride == 1 and cin == cout


def letterbox_params(width, height):
    """Same arithmetic as the Rust `Letterbox::fit` (round half away from zero)."""
    scale = min(SIZE / width, SIZE / height)
    inner_w = int(min(max(np.floor(width * scale + 0.5), 1), SIZE))
    inner_h = int(min(max(np.floor(height * scale + 0.5), 1), SIZE))
    return inner_w, inner_h, (SIZE - inner_w) // 2, (SIZE - inner_h) // 2


def letterbox(img):
    """[3, SIZE, SIZE] float32 in [0, 1]: bilinear, grey padding, as the Rust `Letterbox::render`."""
    h, w, _ = img.shape
    inner_w, inner_h, pad_x, pad_y = letterbox_params(w, h)
    src = img.astype(np.float32)
    fy = np.clip((np.arange(inner_h) + 0.5) * (h / inner_h) - 0.5, 0, h - 1)
    fx = np.clip((np.arange(inner_w) + 0.5) * (w / inner_w) - 0.5, 0, w - 1)
    y0 = np.floor(fy).astype(int)
    x0 = np.floor(fx).astype(int)
    ty = (fy - y0)[:, None, None]
    tx = (fx - x0)[None, :, None]
    y1 = np.minimum(y0 + 1, h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    top = src[y0][:, x0] + (src[y0][:, x1] - src[y0][:, x0]) * tx
    bottom = src[y1][:, x0] + (src[y1][:, x1] - src[y1][:, x0]) * tx
    out = np.full((3, SIZE, SIZE), PAD, np.float32)
    out[:, pad_y : pad_y + inner_h, pad_x : pad_x + inner_w] = ((top + (bottom - top) * ty) / 255.0).transpose(2, 0, 1)
    return out, (inner_w / w, inner_h / h, pad_x, pad_y)


def read_labels(path, width, height, mapping):
    """YOLO label file to [(class, x1, y1, x2, y2)] in model-input pixels."""
    sx, sy, px, py = mapping
    boxes = []
    if os.path.exists(path):
        for line in open(path):
            c, cx, cy, bw, bh = (float(v) for v in line.split())
            x1, x2 = (cx - bw / 2) * width, (cx + bw / 2) * width
            y1, y2 = (cy - bh / 2) * height, (cy + bh / 2) * height
            boxes.append((int(c), x1 * sx + px, y1 * sy + py, x2 * sx + px, y2 * sy + py))
    return boxes


def load_photo(path):
    img = np.asarray(Image.open(path).convert("RGB"))
    x, mapping = letterbox(img)
    label = path.replace(os.sep + "images" + os.sep, os.sep + "labels" + os.sep).rsplit(".", 1)[0] + ".txt"
    return np.round(x * 255.0).astype(np.uint8), read_labels(label, img.shape[1], img.shape[0], mapping)


def load_split(root, workers):
    """All photos under root/**/images with their labels: uint8 inputs and boxes in input pixels.
    Cached beside the photos per input size (`.cache-SIZE.npz`), so runs at the same size share it."""
    paths = sorted(glob.glob(os.path.join(root, "**", "images", "*.jpg"), recursive=True))
    cache = os.path.join(root, f".cache-{SIZE}.npz")
    if os.path.exists(cache):
        saved = np.load(cache, allow_pickle=False)
        if saved["paths"].tolist() == paths:
            boxes = [[tuple(b) for b in saved["boxes"][saved["owner"] == i].tolist()] for i in range(len(paths))]
            return paths, saved["images"], [[(int(b[0]), *b[1:]) for b in bs] for bs in boxes]
    with multiprocessing.Pool(workers, initializer=configure, initargs=CONFIG) as pool:
        loaded = pool.map(load_photo, paths, chunksize=16)
    images = np.stack([x for x, _ in loaded]) if loaded else np.zeros((0, 3, SIZE, SIZE), np.uint8)
    boxes = [b for _, b in loaded]
    owner = np.array([i for i, bs in enumerate(boxes) for _ in bs], np.int64)
    flat = np.array([b for bs in boxes for b in bs], np.float64).reshape(-1, 5)
    tmp = cache + f".{os.getpid()}.npz"
    np.savez(tmp, paths=np.array(paths), images=images, boxes=flat, owner=owner)
    os.replace(tmp, cache)
    return paths, images, boxes


def assign(boxes):
    """Targets of one image: class map [C, A], box map [4, A] (x1, y1, x2, y2), positive mask [A].
    A cell is positive for a box when its centre is inside the box and within 2.5 strides of the box
    centre (the cell holding the centre always is); the smallest box wins a contested cell."""
    cls = np.zeros((NUM_CLASSES, ANCHORS), np.float32)
    box = np.zeros((4, ANCHORS), np.float32)
    area = np.full(ANCHORS, np.inf, np.float32)
    for c, x1, y1, x2, y2 in boxes:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        radius = 2.5 * STRIDE
        inside = (ANCHOR_X >= x1) & (ANCHOR_X <= x2) & (ANCHOR_Y >= y1) & (ANCHOR_Y <= y2)
        near = (np.abs(ANCHOR_X - cx) <= radius) & (np.abs(ANCHOR_Y - cy) <= radius)
        pos = inside & near
        gx, gy = min(max(int(cx // STRIDE), 0), GRID - 1), min(max(int(cy // STRIDE), 0), GRID - 1)
        pos[gy * GRID + gx] = True
        a = (x2 - x1) * (y2 - y1)
        take = pos & (a < area)
        area[take] = a
        cls[:, take] = 0.0
        cls[c, take] = 1.0
        box[:, take] = np.array([x1, y1, x2, y2], np.float32)[:, None]
    return cls, box, np.isfinite(area).astype(np.float32)


def flip_batch(x, cls, box, pos, flip):
    """Mirrors the images where `flip` is set, with their targets (the anchor grid is symmetric)."""
    def mirror(t):
        m = t.reshape(t.shape[:-1] + (GRID, GRID))[..., ::-1].reshape(t.shape)
        return jnp.where(flip.reshape((-1,) + (1,) * (t.ndim - 1)), m, t)

    box_m = mirror(box)
    box_m = jnp.where(flip[:, None, None], jnp.stack(
        [SIZE - box_m[:, 2], box_m[:, 1], SIZE - box_m[:, 0], box_m[:, 3]], 1), box_m)
    x = jnp.where(flip[:, None, None, None], x[..., ::-1], x)
    return x, mirror(cls), box_m, mirror(pos)


def init_params(key):
    params = []
    for cin, cout, _, _ in LAYERS:
        key, sub = jax.random.split(key)
        w = jax.random.normal(sub, (cout, cin, 3, 3)) * np.sqrt(2.0 / (cin * 9))
        params.append((w, jnp.ones(cout), jnp.zeros(cout)))  # conv weight, BN scale, BN shift
    key, sub = jax.random.split(key)
    head_w = jax.random.normal(sub, (4 + NUM_CLASSES, LAYERS[-1][1], 1, 1)) * 0.01
    # Boxes start near 2 strides from the centre each side; classes near a 1% prior.
    head_b = jnp.concatenate([jnp.full(4, 1.85), jnp.full(NUM_CLASSES, -4.6)])
    params.append((head_w, head_b))
    return params


def forward(params, stats, x, train=False):
    """Raw head output [B, 4 + C, A] and the batch statistics of each batch-normalised layer.
    Training normalises with the batch's statistics, inference with the running ones (`stats`)."""
    batch_stats = []
    for (w, gamma, beta), (mean, var), layer in zip(params[:-1], stats, LAYERS):
        _, _, stride, dilation = layer
        inp = x
        x = jax.lax.conv_general_dilated(
            x, w, (stride, stride), [(dilation, dilation)] * 2, rhs_dilation=(dilation, dilation),
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
        )
        if train:
            mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3))
            batch_stats.append((mean, var))
        scale = gamma / jnp.sqrt(var + BN_EPS)
        x = (x - mean[None, :, None, None]) * scale[None, :, None, None] + beta[None, :, None, None]
        x = x * jax.nn.sigmoid(x)
        if is_residual(layer):
            x = x + inp
    w, b = params[-1]
    x = jax.lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"))
    x = x + b[None, :, None, None]
    return x.reshape(x.shape[0], 4 + NUM_CLASSES, ANCHORS), batch_stats


def decode_boxes(raw):
    """x1, y1, x2, y2 [B, 4, A] from the raw box channels (softplus distances in strides)."""
    ltrb = jax.nn.softplus(raw[:, :4]) * STRIDE
    return jnp.stack([ANCHOR_X - ltrb[:, 0], ANCHOR_Y - ltrb[:, 1], ANCHOR_X + ltrb[:, 2], ANCHOR_Y + ltrb[:, 3]], 1)


def giou(a, b):
    ix = jnp.clip(jnp.minimum(a[:, 2], b[:, 2]) - jnp.maximum(a[:, 0], b[:, 0]), 0)
    iy = jnp.clip(jnp.minimum(a[:, 3], b[:, 3]) - jnp.maximum(a[:, 1], b[:, 1]), 0)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a + area_b - inter + 1e-6
    hull = (jnp.maximum(a[:, 2], b[:, 2]) - jnp.minimum(a[:, 0], b[:, 0])) * (
        jnp.maximum(a[:, 3], b[:, 3]) - jnp.minimum(a[:, 1], b[:, 1])) + 1e-6
    return inter / union - (hull - union) / hull


def box_iou(a, b):
    ix = jnp.clip(jnp.minimum(a[:, 2], b[:, 2]) - jnp.maximum(a[:, 0], b[:, 0]), 0)
    iy = jnp.clip(jnp.minimum(a[:, 3], b[:, 3]) - jnp.maximum(a[:, 1], b[:, 1]), 0)
    inter = ix * iy
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / (union + 1e-6)


def loss_fn(params, stats, x, cls_t, box_t, pos, quality):
    raw, batch_stats = forward(params, stats, x, train=True)
    logits = raw[:, 4:]
    p = jax.nn.sigmoid(logits)
    boxes = decode_boxes(raw)
    n_pos = jnp.maximum(pos.sum(), 1.0)
    if quality:
        # Quality focal loss (beta 2): a positive's class target is the IoU of its predicted box with
        # the truth, so scores rank well-placed boxes first (what AP at IoU 0.5 rewards).
        target = cls_t * jax.lax.stop_gradient(box_iou(boxes, box_t))[:, None, :]
        bce = jnp.maximum(logits, 0) - logits * target + jnp.log1p(jnp.exp(-jnp.abs(logits)))
        cls_loss = ((target - p) ** 2 * bce).sum() / n_pos
    else:
        # Focal loss (gamma 2, alpha 0.25) on every anchor and class.
        bce = jnp.maximum(logits, 0) - logits * cls_t + jnp.log1p(jnp.exp(-jnp.abs(logits)))
        p_t = p * cls_t + (1 - p) * (1 - cls_t)
        alpha = 0.25 * cls_t + 0.75 * (1 - cls_t)
        cls_loss = (alpha * (1 - p_t) ** 2 * bce).sum() / n_pos
    box_loss = ((1 - giou(boxes, box_t)) * pos).sum() / n_pos
    return cls_loss + 2.0 * box_loss, (cls_loss, box_loss, batch_stats)


def adam_step(params, grads, state, lr, step, wd=5e-4, b1=0.9, b2=0.999, eps=1e-8):
    m, v = state
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
    c1, c2 = 1 - b1 ** step, 1 - b2 ** step
    params = jax.tree_util.tree_map(
        lambda p, m, v: p - lr * (m / c1 / (jnp.sqrt(v / c2) + eps) + wd * p * (p.ndim > 1)), params, m, v)
    return params, (m, v)


EMA_DECAY = 0.9995


@functools.partial(jax.jit, static_argnames=("quality",))
def train_step(params, ema, stats, state, data, idx, flip, lr, step, quality):
    """One Adam step on the photos `idx` of `data` (images, class, box and positive targets, all
    on the device), mirrored where `flip` is set; `ema` is the exponential average of the weights."""
    images, cls_all, box_all, pos_all = data
    x, cls_t, box_t, pos = flip_batch(images[idx].astype(jnp.float32) / 255.0, cls_all[idx], box_all[idx],
                                      pos_all[idx], flip)
    (loss, (cls_loss, box_loss, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        params, stats, x, cls_t, box_t, pos, quality)
    params, state = adam_step(params, grads, state, lr, step)
    stats = jax.tree_util.tree_map(lambda s, b: (1 - BN_MOMENTUM) * s + BN_MOMENTUM * b, stats, batch_stats)
    decay = EMA_DECAY * (1 - jnp.exp(-step / 2000.0))  # ramps up, as in YOLOv5/v8
    ema = jax.tree_util.tree_map(lambda e, p: decay * e + (1 - decay) * p, ema, params)
    return params, ema, stats, state, loss, (cls_loss, box_loss)


@jax.jit
def predict(params, stats, x):
    raw, _ = forward(params, stats, x)
    return decode_boxes(raw), jax.nn.sigmoid(raw[:, 4:])


def nms(boxes, scores, iou_threshold=0.6, limit=100):
    order = np.argsort(-scores)
    keep = []
    for i in order:
        if len(keep) == limit:
            break
        b = boxes[i]
        ok = True
        for k in keep:
            o = boxes[k]
            iw = max(0.0, min(b[2], o[2]) - max(b[0], o[0]))
            ih = max(0.0, min(b[3], o[3]) - max(b[1], o[1]))
            inter = iw * ih
            union = (b[2] - b[0]) * (b[3] - b[1]) + (o[2] - o[0]) * (o[3] - o[1]) - inter
            if union > 0 and inter / union > iou_threshold:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep


def voc_ap(dets, truths):
    """All-point interpolated AP at IoU 0.5 (the same method as the Rust `eval` module)."""
    if not truths:
        return None
    dets = sorted(dets, key=lambda d: -d[1])
    matched = set()
    tp = 0
    curve = []
    for rank, (img, _, b) in enumerate(dets):
        best, best_iou = None, 0.0
        for j, (timg, t) in enumerate(truths):
            if timg != img or j in matched:
                continue
            iw = max(0.0, min(b[2], t[2]) - max(b[0], t[0]))
            ih = max(0.0, min(b[3], t[3]) - max(b[1], t[1]))
            inter = iw * ih
            union = (b[2] - b[0]) * (b[3] - b[1]) + (t[2] - t[0]) * (t[3] - t[1]) - inter
            iou = inter / union if union > 0 else 0.0
            if best is None or iou > best_iou:
                best, best_iou = j, iou
        if best is not None and best_iou >= 0.5:
            matched.add(best)
            tp += 1
        curve.append([tp / len(truths), tp / (rank + 1)])
    for i in range(len(curve) - 2, -1, -1):
        curve[i][1] = max(curve[i][1], curve[i + 1][1])
    ap, prev = 0.0, 0.0
    for r, p in curve:
        ap += (r - prev) * p
        prev = r
    return ap


def evaluate(params, stats, images, boxes, min_confidence=0.01):
    dets = {c: [] for c in range(NUM_CLASSES)}
    truths = {c: [] for c in range(NUM_CLASSES)}
    for i in range(0, len(images), 16):
        x = jnp.asarray(images[i : i + 16], jnp.float32) / 255.0
        pb, ps = (np.asarray(t) for t in predict(params, stats, x))
        for j in range(len(x)):
            cls = ps[j].argmax(0)
            conf = ps[j].max(0)
            for c in range(NUM_CLASSES):
                idx = np.where((cls == c) & (conf >= min_confidence))[0]
                b = pb[j][:, idx].T
                for k in nms(b, conf[idx]):
                    dets[c].append((i + j, float(conf[idx][k]), b[k]))
    for i, bs in enumerate(boxes):
        for c, *b in bs:
            truths[c].append((i, b))
    return {LABELS[c]: voc_ap(dets[c], truths[c]) for c in range(NUM_CLASSES)}


def export_onnx(params, stats, path, model_version):
    """Writes the graph by hand: convolutions (batch norm folded in) + SiLU, then the YOLOv8-layout
    decoding."""
    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    x = "images"
    for i, ((w, gamma, beta), (mean, var), layer) in enumerate(zip(params[:-1], stats, LAYERS)):
        _, _, stride, dilation = layer
        scale = np.asarray(gamma) / np.sqrt(np.asarray(var) + BN_EPS)
        w = np.asarray(w) * scale[:, None, None, None]
        b = np.asarray(beta) - np.asarray(mean) * scale
        nodes.append(helper.make_node(
            "Conv", [x, const(f"conv{i}.w", np.asarray(w, np.float32)), const(f"conv{i}.b", np.asarray(b, np.float32))],
            [f"conv{i}"], kernel_shape=[3, 3], strides=[stride, stride], dilations=[dilation, dilation],
            pads=[dilation] * 4))
        nodes.append(helper.make_node("Sigmoid", [f"conv{i}"], [f"sig{i}"]))
        nodes.append(helper.make_node("Mul", [f"conv{i}", f"sig{i}"], [f"act{i}"]))
        if is_residual(layer):
            nodes.append(helper.make_node("Add", [f"act{i}", x], [f"res{i}"]))
            x = f"res{i}"
        else:
            x = f"act{i}"
    w, b = params[-1]
    nodes += [
        helper.make_node("Conv", [x, const("head.w", np.asarray(w, np.float32)), const("head.b", np.asarray(b, np.float32))],
                         ["head"], kernel_shape=[1, 1]),
        helper.make_node("Reshape", ["head", const("head.shape", np.array([1, 4 + NUM_CLASSES, ANCHORS], np.int64))], ["raw"]),
        helper.make_node("Split", ["raw", const("split", np.array([2, 2, NUM_CLASSES], np.int64))], ["lt_raw", "rb_raw", "cls_raw"], axis=1),
        helper.make_node("Softplus", ["lt_raw"], ["lt_sp"]),
        helper.make_node("Softplus", ["rb_raw"], ["rb_sp"]),
        helper.make_node("Mul", ["lt_sp", const("stride", np.array(STRIDE, np.float32))], ["lt"]),
        helper.make_node("Mul", ["rb_sp", "stride"], ["rb"]),
        helper.make_node("Sub", [const("anchors", np.stack([ANCHOR_X, ANCHOR_Y])[None]), "lt"], ["xy1"]),
        helper.make_node("Add", ["anchors", "rb"], ["xy2"]),
        helper.make_node("Add", ["xy1", "xy2"], ["xy_sum"]),
        helper.make_node("Mul", ["xy_sum", const("half", np.array(0.5, np.float32))], ["cxy"]),
        helper.make_node("Sub", ["xy2", "xy1"], ["wh"]),
        helper.make_node("Sigmoid", ["cls_raw"], ["cls"]),
        helper.make_node("Concat", ["cxy", "wh", "cls"], ["output0"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "damage-detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + NUM_CLASSES, ANCHORS])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="damage-pricing")
    model.ir_version = 8
    # The keys Ultralytics writes, so code reading them works with either model.
    names = "{" + ", ".join(f"{i}: '{n}'" for i, n in enumerate(LABELS)) + "}"
    for k, v in {"names": names, "imgsz": f"[{SIZE}, {SIZE}]", "stride": str(STRIDE), "task": "detect",
                 "model_version": model_version}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return model


def check_export(model, params, stats, image):
    """The ONNX graph (reference evaluator) must agree with the JAX forward pass."""
    from onnx.reference import ReferenceEvaluator

    x = image[None].astype(np.float32) / 255.0
    (out,) = ReferenceEvaluator(model).run(None, {"images": x})
    with jax.default_matmul_precision("highest"):  # GPUs otherwise convolve in TF32
        pb, ps = (np.asarray(t) for t in predict(params, stats, jnp.asarray(x)))
    cxcy = (pb[:, :2] + pb[:, 2:]) / 2
    wh = pb[:, 2:] - pb[:, :2]
    expected = np.concatenate([cxcy, wh, ps], 1)
    err = float(np.abs(out - expected).max())
    assert err < 1e-2, f"ONNX export differs from JAX by {err}"
    return err


def save_checkpoint(path, params, stats):
    leaves = jax.tree_util.tree_leaves((params, stats))
    np.savez(path, *[np.asarray(leaf) for leaf in leaves])


def load_checkpoint(path, params, stats):
    saved = np.load(path)
    leaves = [jnp.asarray(saved[f"arr_{i}"]) for i in range(len(saved.files))]
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure((params, stats)), leaves)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="scripts/detector/data")
    ap.add_argument("--out", default="models/damage-detector.onnx")
    ap.add_argument("--size", type=int, default=320, help="square model input (multiple of 8)")
    ap.add_argument("--widths", default="16,32,48,48",
                    help="channels of the three stride-2 and of the four dilated convolutions")
    ap.add_argument("--no-residual", action="store_true", help="no skip connections on stride-1 layers")
    ap.add_argument("--focal", action="store_true", help="plain focal loss instead of quality focal loss")
    ap.add_argument("--steps", type=int, default=15000)
    ap.add_argument("--time-budget", type=float,
                    help="seconds of training: lowers --steps (to a multiple of 500) from the rate of the "
                         "first 300 steps, before the schedule depends on it; the summary records the steps")
    ap.add_argument("--prepare-only", action="store_true", help="decode and cache the photos, then stop")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--model-version", default="damage-tinyyolo-20261123")
    ap.add_argument("--eval-every", type=int, default=2500, help="held-out AP and export every N steps")
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="processes decoding photos")
    ap.add_argument("--checkpoint", help="written at every evaluation and at the end (default DATA/checkpoint.npz)")
    ap.add_argument("--init", help="start from this checkpoint instead of random weights")
    args = ap.parse_args()
    configure(args.size, [int(w) for w in args.widths.split(",")], not args.no_residual)
    quality = not args.focal
    checkpoint = args.checkpoint or os.path.join(args.data, "checkpoint.npz")

    t0 = time.time()
    _, train_x, train_boxes = load_split(os.path.join(args.data, "train"), args.workers)
    _, test_x, test_boxes = load_split(os.path.join(args.data, "heldout"), args.workers)
    if args.prepare_only:
        print(f"cached {len(train_x)} train / {len(test_x)} held-out photos in {time.time() - t0:.0f}s")
        return
    targets = [assign(b) for b in train_boxes]
    # The whole training set and its targets live on the device; batches are gathered there.
    data = tuple(jnp.asarray(a) for a in (
        train_x, np.stack([t[0] for t in targets]), np.stack([t[1] for t in targets]), np.stack([t[2] for t in targets])))
    print(f"loaded {len(train_x)} train / {len(test_x)} held-out photos in {time.time() - t0:.0f}s "
          f"on {jax.devices()[0].platform}", flush=True)

    rng = np.random.default_rng(args.seed)
    params = init_params(jax.random.PRNGKey(args.seed))
    stats = [(jnp.zeros(cout), jnp.ones(cout)) for _, cout, _, _ in LAYERS]
    if args.init:
        params, stats = load_checkpoint(args.init, params, stats)
    ema = params
    state = (jax.tree_util.tree_map(jnp.zeros_like, params), jax.tree_util.tree_map(jnp.zeros_like, params))
    warmup, probe = 500, 300
    t0 = time.time()
    step = 0
    while step < args.steps:
        step += 1
        if step == probe + 1 and args.time_budget:
            # Steps 2..probe (step 1 compiles) give the rate; the schedule below does not depend on
            # the total before the warm-up ends, so the run is the one `--steps N` would make.
            rate = (probe - 1) / (time.time() - t_probe)
            fit = int((probe + rate * (args.time_budget - (time.time() - t0))) // 500 * 500)
            args.steps = max(warmup + 500, min(args.steps, fit))
            print(f"{rate:.1f} steps/s: {args.steps} steps fit the time budget", flush=True)
        idx = rng.choice(len(train_x), args.batch, replace=False)
        flip = rng.random(args.batch) < 0.5
        if step <= warmup:
            lr = args.lr * step / warmup
        else:
            progress = (step - warmup) / (args.steps - warmup)
            lr = args.lr * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * progress)))
        params, ema, stats, state, loss, (cl, bl) = train_step(
            params, ema, stats, state, data, idx, flip, np.float32(lr), np.float32(step), quality)
        if step == 1:
            jax.block_until_ready(params)
            t_probe = time.time()
        if step % 250 == 0 or step == 1:
            print(f"step {step} loss {float(loss):.3f} cls {float(cl):.3f} box {float(bl):.3f} "
                  f"lr {lr:.5f} {time.time() - t0:.0f}s", flush=True)
        if step % args.eval_every == 0 and step < args.steps:
            print(f"step {step} held-out AP@0.5", evaluate(ema, stats, test_x, test_boxes), flush=True)
            export_onnx(ema, stats, args.out, args.model_version)
            save_checkpoint(checkpoint, ema, stats)
    train_seconds = time.time() - t0

    report = evaluate(ema, stats, test_x, test_boxes)
    print("held-out AP@0.5 (python)", report, flush=True)
    model = export_onnx(ema, stats, args.out, args.model_version)
    save_checkpoint(checkpoint, ema, stats)
    err = check_export(model, ema, stats, test_x[0])
    print(f"exported {args.out} ({os.path.getsize(args.out)} bytes), max |onnx - jax| = {err:.2e}")
    summary = {"size": SIZE, "widths": args.widths, "residual": RESIDUAL, "loss": "quality-focal" if quality else "focal",
               "steps": args.steps, "batch": args.batch, "lr": args.lr, "seed": args.seed,
               "parameters": int(sum(np.size(leaf) for leaf in jax.tree_util.tree_leaves(params))),
               "train_photos": int(len(train_x)), "heldout_photos": int(len(test_x)),
               "heldout_ap50_python": report, "train_seconds": round(train_seconds),
               "device": str(jax.devices()[0].device_kind), "jax": jax.__version__, "onnx": onnx.__version__}
    with open(os.path.splitext(args.out)[0] + ".train.json", "w") as f:
        json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
