"""The detector's SageMaker training job: the entry point of `infra/Dockerfile.train`, and what local
mode's SageMaker stand-in runs on an `/opt/ml`-shaped folder under its state.

The SageMaker training contract, exactly:
- `input/config/hyperparameters.json`: every value a string (below); `input/config/resourceconfig.json`
  (host names, logged); `input/data/manifest/`: the labelled dataset in the format validate's dataset
  check reads (`manifest.json` with `classes` and `images` [{image, label, split}], YOLO label files,
  paths relative to the manifest); optional `input/data/weights/`: the champion's `model.onnx` (or its
  `model.tar.gz`) to fine-tune from;
- `checkpoints/`: a checkpoint after every epoch, resumed from when the job starts again (managed spot
  training): the resumed run ends at the step count an uninterrupted run ends at;
- `model/`: `model.onnx` (YOLOv8 output layout and metadata, as `train.py` exports it) and
  `training-report.json`; SageMaker tars the folder to `model.tar.gz`;
- `output/failure`: one line, the reason, when the job fails (exit status 1);
- stdout: `epoch E/N ... val_mAP50=<x>` once per epoch, the line the tuning job's MetricDefinitions read.

Hyperparameters: lr0, momentum (Adam's beta1, as Ultralytics uses it), batch, epochs, patience
(epochs without a better val_mAP50 before stopping; the best epoch's weights are exported), mosaic
(probability of a 4-photo mosaic), cutmix (probability of pasting a patch of another photo), hsv_h /
hsv_s / hsv_v (HSV jitter gains), fliplr, weight_decay, seed, model (`tiny` or `s`, see MODELS),
model_version, warmup_steps.

Usage: `python job.py [train] [--opt-ml DIR]` (SageMaker runs the image with the argument `train`).
"""

import argparse
import json
import math
import os
import signal
import sys
import tarfile
import time

import numpy as np

import train as arch  # the architecture, loss, optimiser, evaluation and ONNX export

# Model sizes: square input, widths of the three stride-2 and of the four dilated convolutions.
# `tiny` is the committed CPU-trainable model (about 100 k parameters); `s` has about 11 M, the size
# class of YOLOv8s, and is meant for a GPU instance. The model version names the size.
MODELS = {
    "tiny": {"size": 320, "widths": [16, 32, 48, 48], "version_prefix": "damage-tiny"},
    "s": {"size": 640, "widths": [128, 256, 512, 512], "version_prefix": "damage-s11m"},
}

DEFAULTS = {
    "lr0": "0.003", "momentum": "0.9", "batch": "16", "epochs": "50", "patience": "10",
    "mosaic": "0.5", "cutmix": "0.0", "hsv_h": "0.015", "hsv_s": "0.7", "hsv_v": "0.4",
    "fliplr": "0.5", "weight_decay": "0.0005", "seed": "20261122", "model": "tiny",
    "warmup_steps": "100",
}
FLOATS = {"lr0", "momentum", "mosaic", "cutmix", "hsv_h", "hsv_s", "hsv_v", "fliplr", "weight_decay"}
INTS = {"batch", "epochs", "patience", "seed", "warmup_steps"}
PROBABILITIES = {"mosaic", "cutmix", "fliplr"}
CHECKPOINT = "checkpoint.npz"


class JobError(Exception):
    """A failure with a reason for `output/failure` (bad hyperparameters, a broken dataset)."""


def read_hyperparameters(path):
    """The hyperparameters file, every value a string as SageMaker writes it, parsed and checked."""
    raw = {}
    if os.path.exists(path):
        with open(path) as f:
            raw = json.load(f)
    if not isinstance(raw, dict):
        raise JobError("hyperparameters.json is not a JSON object")
    # SageMaker adds its own (a tuning job's `_tuning_objective_metric`, `sagemaker_*`).
    raw = {k: v for k, v in raw.items() if not (k.startswith("_") or k.startswith("sagemaker_"))}
    unknown = sorted(set(raw) - set(DEFAULTS) - {"model_version"})
    if unknown:
        raise JobError(f"unknown hyperparameters {', '.join(unknown)}")
    hp = {}
    for key, value in {**DEFAULTS, **raw}.items():
        if not isinstance(value, str):
            raise JobError(f"hyperparameter {key} is {json.dumps(value)}: SageMaker passes strings")
        try:
            hp[key] = float(value) if key in FLOATS else int(value) if key in INTS else value
        except ValueError:
            raise JobError(f"hyperparameter {key}={value!r} is not a {'number' if key in FLOATS else 'whole number'}")
    if hp["model"] not in MODELS:
        raise JobError(f"hyperparameter model={hp['model']!r} is not one of {', '.join(MODELS)}")
    for key in PROBABILITIES:
        if not 0.0 <= hp[key] <= 1.0:
            raise JobError(f"hyperparameter {key}={hp[key]} is not a probability")
    for key in ("batch", "epochs"):
        if hp[key] < 1:
            raise JobError(f"hyperparameter {key}={hp[key]} must be at least 1")
    if not (hp["lr0"] > 0 and 0 <= hp["momentum"] < 1 and hp["patience"] >= 0):
        raise JobError("lr0 must be positive, momentum in [0, 1), patience not negative")
    return hp


def read_dataset(channel):
    """(train, val) lists of (image path, label path) from the manifest channel, checked."""
    path = os.path.join(channel, "manifest.json")
    if not os.path.exists(path):
        raise JobError("the manifest channel has no manifest.json")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise JobError(f"manifest.json is not JSON: {e}")
    classes = manifest.get("classes") if isinstance(manifest, dict) else None
    if classes != arch.LABELS:
        raise JobError(f"manifest classes {classes} are not the detector's {arch.LABELS}")
    splits = {"train": [], "val": [], "test": []}
    for n, entry in enumerate(manifest.get("images") or []):
        if not isinstance(entry, dict) or entry.get("split") not in splits:
            raise JobError(f"manifest image {n} needs image, label and a split of train, val, test")
        image, label = (os.path.join(channel, str(entry.get(k, ""))) for k in ("image", "label"))
        if not os.path.isfile(image):
            raise JobError(f"manifest image {n}: {entry.get('image')} is not in the channel")
        splits[entry["split"]].append((image, label))
    if not splits["train"]:
        raise JobError("the manifest has no train images")
    if not splits["val"]:
        raise JobError("the manifest has no val images (early stopping needs them)")
    return splits["train"], splits["val"]


def load(pairs):
    """uint8 [N, 3, S, S] letterboxed photos and their boxes in model-input pixels."""
    from PIL import Image, UnidentifiedImageError

    images, boxes = [], []
    for image, label in pairs:
        try:
            img = np.asarray(Image.open(image).convert("RGB"))
        except (OSError, UnidentifiedImageError) as e:
            raise JobError(f"{os.path.basename(image)} cannot be decoded: {e}")
        x, mapping = arch.letterbox(img)
        try:
            b = arch.read_labels(label, img.shape[1], img.shape[0], mapping)
        except ValueError:
            raise JobError(f"{os.path.basename(label)} is not a YOLO label file (class cx cy w h per line)")
        if any(not 0 <= c < arch.NUM_CLASSES for c, *_ in b):
            raise JobError(f"{os.path.basename(label)} names a class id outside 0..{arch.NUM_CLASSES - 1}")
        images.append(np.round(x * 255.0).astype(np.uint8))
        boxes.append(b)
    return np.stack(images), boxes


# Augmentations, on uint8 [3, S, S] photos with boxes [(class, x1, y1, x2, y2)] in input pixels.

def clip_boxes(boxes, x0, y0, x1, y1, min_keep=0.3):
    """Boxes cut to a window; a box keeping under `min_keep` of its area, or under 2 px a side, goes."""
    kept = []
    for c, a, b, cc, d in boxes:
        na, nb, nc, nd = max(a, x0), max(b, y0), min(cc, x1), min(d, y1)
        area = (cc - a) * (d - b)
        if nc - na >= 2 and nd - nb >= 2 and area > 0 and (nc - na) * (nd - nb) >= min_keep * area:
            kept.append((c, na, nb, nc, nd))
    return kept


def mosaic(images, boxes, picks, rng):
    """Four photos at half scale around a random centre (Ultralytics' mosaic, one canvas size)."""
    size = arch.SIZE
    half = size // 2
    canvas = np.full((3, size, size), 114, np.uint8)
    cx, cy = (int(rng.uniform(0.25, 0.75) * size) for _ in range(2))
    out = []
    for q, i in enumerate(picks):
        small = images[i][:, ::2, ::2]
        # Quadrant q's photo has its inner corner at the centre.
        left, top = (cx - half if q % 2 == 0 else cx), (cy - half if q < 2 else cy)
        x0, y0 = max(left, 0), max(top, 0)
        x1, y1 = min(left + half, size), min(top + half, size)
        canvas[:, y0:y1, x0:x1] = small[:, y0 - top : y1 - top, x0 - left : x1 - left]
        moved = [(c, a / 2 + left, b / 2 + top, cc / 2 + left, d / 2 + top) for c, a, b, cc, d in boxes[i]]
        out += clip_boxes(moved, x0, y0, x1, y1)
    return canvas, out


def cutmix(image, boxes, other, other_boxes, rng):
    """A random patch of `other` pasted in: its boxes mostly inside come along, covered ones go."""
    size = arch.SIZE
    w, h = (int(size * rng.uniform(0.25, 0.6)) for _ in range(2))
    x0, y0 = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
    x1, y1 = x0 + w, y0 + h
    image = image.copy()
    image[:, y0:y1, x0:x1] = other[:, y0:y1, x0:x1]

    def covered(b):
        _, a, bb, c, d = b
        iw, ih = max(0, min(c, x1) - max(a, x0)), max(0, min(d, y1) - max(bb, y0))
        return iw * ih / max((c - a) * (d - bb), 1e-6)

    kept = [b for b in boxes if covered(b) < 0.6]
    return image, kept + clip_boxes(other_boxes, x0, y0, x1, y1, min_keep=0.6)


def hsv_jitter(batch, gains, rng):
    """Random hue, saturation and value gains per photo, as one linear colour map each (uint8
    [B, 3, S, S] in, float [0, 1] out): the hue turns the chroma about the grey axis by up to
    `gains[0]` of a full turn, the saturation scales the chroma and the value scales everything, by up
    to `gains[1]` and `gains[2]` (Ultralytics' hsv_h, hsv_s, hsv_v; a linear stand-in for its HSV
    look-up tables, which costs one 3x3 product per pixel)."""
    n = len(batch)
    gh, gs, gv = (rng.uniform(-1, 1, n) * k for k in gains)
    grey = np.full((3, 3), 1 / 3, np.float32)
    # Rotation about the grey axis (Rodrigues' formula with the unit axis (1, 1, 1) / sqrt 3).
    axis = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], np.float32) / np.sqrt(3)
    maps = []
    for h, s, v in zip(gh, gs, gv):
        turn = 2 * np.pi * h
        rotation = grey + np.cos(turn) * (np.eye(3) - grey) + np.sin(turn) * axis
        maps.append((1 + v) * (grey + (1 + s) * (rotation - grey)))
    x = np.einsum("bij,bjhw->bihw", np.asarray(maps, np.float32), batch.astype(np.float32) / 255.0)
    return np.clip(x, 0.0, 1.0)


def augment(images, boxes, idx, hp, rng):
    """A training batch: mosaic or the photo, then cutmix, flips, HSV jitter; and its targets."""
    xs, bs = [], []
    for i in idx:
        if rng.random() < hp["mosaic"]:
            x, b = mosaic(images, boxes, [i, *rng.integers(0, len(images), 3)], rng)
        else:
            x, b = images[i], list(boxes[i])
        if rng.random() < hp["cutmix"]:
            j = int(rng.integers(0, len(images)))
            x, b = cutmix(x, b, images[j], boxes[j], rng)
        if rng.random() < hp["fliplr"]:
            x = x[:, :, ::-1]
            b = [(c, arch.SIZE - x2, y1, arch.SIZE - x1, y2) for c, x1, y1, x2, y2 in b]
        xs.append(x)
        bs.append(b)
    x = hsv_jitter(np.stack(xs), (hp["hsv_h"], hp["hsv_s"], hp["hsv_v"]), rng)
    targets = [arch.assign(b) for b in bs]
    return x, tuple(np.stack([t[k] for t in targets]) for k in range(3))


def read_onnx_weights(path, model):
    """The champion's weights from its ONNX file (`train.py`'s export: batch norm folded into the
    convolutions). Refuses a file of another architecture or size."""
    import onnx
    from onnx import numpy_helper

    if path.endswith(".tar.gz"):
        with tarfile.open(path) as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith("model.onnx")), None)
            if member is None:
                raise JobError("the weights channel's model.tar.gz holds no model.onnx")
            proto = onnx.load_from_string(tar.extractfile(member).read())
    else:
        proto = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    convs = []
    for i, (cin, cout, _, _) in enumerate(arch.LAYERS):
        w, b = inits.get(f"conv{i}.w"), inits.get(f"conv{i}.b")
        if w is None or b is None or w.shape != (cout, cin, 3, 3):
            raise JobError(f"the warm-start weights are not a {model} model of this architecture (layer {i})")
        convs.append((w, b))
    residual = any(n.name.startswith("res") or n.output[0].startswith("res") for n in proto.graph.node)
    if residual != arch.RESIDUAL:
        raise JobError("the warm-start weights differ in their skip connections")
    return convs, (inits["head.w"], inits["head.b"])


def warm_start(convs, head, calibration):
    """Parameters and running statistics that reproduce folded weights: the convolution keeps the
    folded weight, and each batch norm's scale and shift are set, layer by layer, so that on the
    calibration photos it adds the folded bias (and so, with those statistics, the exported graph
    is the champion's)."""
    import jax
    import jax.numpy as jnp

    params = [(jnp.asarray(w), jnp.ones(w.shape[0]), jnp.zeros(w.shape[0])) for w, _ in convs]
    params.append((jnp.asarray(head[0]), jnp.asarray(head[1])))
    stats = [None] * len(convs)
    x = jnp.asarray(calibration, jnp.float32) / 255.0
    forward = jax.jit(lambda p, s, x: arch.forward(p, s, x, train=True)[1])
    dummy = [(jnp.zeros(w.shape[0]), jnp.ones(w.shape[0])) for w, _ in convs]
    for i, (w, b) in enumerate(convs):
        mean, var = forward(params, dummy, x)[i]
        params[i] = (params[i][0], jnp.sqrt(var + arch.BN_EPS), jnp.asarray(b) + mean)
        stats[i] = (mean, var)
    return params, stats


def make_step(hp):
    import functools

    import jax
    import jax.numpy as jnp

    @functools.partial(jax.jit)
    def step(params, ema, stats, state, x, cls_t, box_t, pos, lr, n):
        (loss, (cls_loss, box_loss, batch_stats)), grads = jax.value_and_grad(arch.loss_fn, has_aux=True)(
            params, stats, x, cls_t, box_t, pos, True)
        params, state = arch.adam_step(params, grads, state, lr, n, wd=hp["weight_decay"], b1=hp["momentum"])
        stats = jax.tree_util.tree_map(lambda s, b: (1 - arch.BN_MOMENTUM) * s + arch.BN_MOMENTUM * b,
                                       stats, batch_stats)
        decay = arch.EMA_DECAY * (1 - jnp.exp(-n / 2000.0))
        ema = jax.tree_util.tree_map(lambda e, p: decay * e + (1 - decay) * p, ema, params)
        return params, ema, stats, state, loss

    return step


def flat(tree):
    import jax

    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(tree)]


def unflat(like, leaves):
    import jax
    import jax.numpy as jnp

    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), [jnp.asarray(v) for v in leaves])


def save_checkpoint(path, run):
    """The whole run after an epoch: weights, optimiser, best weights, progress."""
    trees = ("params", "ema", "stats", "state", "best")
    arrays = {f"{t}_{i}": v for t in trees for i, v in enumerate(flat(run[t]))}
    meta = {k: run[k] for k in ("epoch", "step", "best_map", "best_epoch", "history", "hp")}
    tmp = path + ".tmp.npz"
    np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


def load_checkpoint(path, run):
    saved = np.load(path, allow_pickle=False)
    meta = json.loads(str(saved["meta"]))
    if meta["hp"] != run["hp"]:
        raise JobError("the checkpoint was written with other hyperparameters")
    for t in ("params", "ema", "stats", "state", "best"):
        count = len(flat(run[t]))
        run[t] = unflat(run[t], [saved[f"{t}_{i}"] for i in range(count)])
    run.update({k: meta[k] for k in ("epoch", "step", "best_map", "best_epoch", "history")})


def mean_ap(aps):
    present = [v for v in aps.values() if v is not None]
    return float(np.mean(present)) if present else 0.0


def run_job(root):
    import jax
    import jax.numpy as jnp

    started = time.time()
    config = os.path.join(root, "input", "config")
    hp = read_hyperparameters(os.path.join(config, "hyperparameters.json"))
    resources = os.path.join(config, "resourceconfig.json")
    if os.path.exists(resources):
        with open(resources) as f:
            print(f"resource config: host {json.load(f).get('current_host', '?')}", flush=True)
    model = MODELS[hp["model"]]
    arch.configure(model["size"], model["widths"], True)
    train_pairs, val_pairs = read_dataset(os.path.join(root, "input", "data", "manifest"))
    train_x, train_boxes = load(train_pairs)
    val_x, val_boxes = load(val_pairs)
    print(f"loaded {len(train_x)} train / {len(val_x)} val photos in {time.time() - started:.1f}s "
          f"on {jax.devices()[0].platform}", flush=True)

    weights_dir = os.path.join(root, "input", "data", "weights")
    weights = next((os.path.join(weights_dir, f) for f in sorted(os.listdir(weights_dir))
                    if f.endswith((".onnx", ".tar.gz"))), None) if os.path.isdir(weights_dir) else None
    if weights:
        params, stats = warm_start(*read_onnx_weights(weights, hp["model"]), train_x[: min(len(train_x), 32)])
        print(f"warm start from {os.path.basename(weights)}", flush=True)
    else:
        params = arch.init_params(jax.random.PRNGKey(hp["seed"]))
        stats = [(jnp.zeros(c), jnp.ones(c)) for _, c, _, _ in arch.LAYERS]
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    run = {"params": params, "ema": params, "stats": stats, "state": (zeros, zeros), "best": (params, stats),
           "epoch": 0, "step": 0, "best_map": -1.0, "best_epoch": 0, "history": [], "hp": hp}
    start_map = None
    if weights:
        start_map = run["best_map"] = mean_ap(arch.evaluate(params, stats, val_x, val_boxes))
        print(f"warm start: val mAP50 {start_map:.4f}", flush=True)

    checkpoints = os.path.join(root, "checkpoints")
    os.makedirs(checkpoints, exist_ok=True)
    checkpoint = os.path.join(checkpoints, CHECKPOINT)
    resumed_from = None
    if os.path.exists(checkpoint):
        load_checkpoint(checkpoint, run)
        resumed_from = run["epoch"]
        print(f"resumed from the checkpoint after epoch {resumed_from} (step {run['step']})", flush=True)

    steps_per_epoch = math.ceil(len(train_x) / hp["batch"])
    total = steps_per_epoch * hp["epochs"]
    step_fn = make_step(hp)
    batch = min(hp["batch"], len(train_x))
    train_started = time.time()
    stopped_early = False
    while run["epoch"] < hp["epochs"]:
        if hp["patience"] > 0 and run["epoch"] - run["best_epoch"] >= hp["patience"]:
            stopped_early = True
            break
        epoch = run["epoch"] + 1
        # Each epoch's order and augmentations come from (seed, epoch): a resumed run repeats them.
        rng = np.random.default_rng([hp["seed"], epoch])
        order = rng.permutation(len(train_x))
        losses = []
        for k in range(steps_per_epoch):
            idx = np.resize(order[k * batch : (k + 1) * batch], batch)  # the last batch wraps round
            x, (cls_t, box_t, pos) = augment(train_x, train_boxes, idx, hp, rng)
            run["step"] += 1
            n = run["step"]
            lr = hp["lr0"] * min(1.0, n / max(min(hp["warmup_steps"], total // 5), 1))
            lr *= 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(n / total, 1.0)))
            run["params"], run["ema"], run["stats"], run["state"], loss = step_fn(
                run["params"], run["ema"], run["stats"], run["state"], jnp.asarray(x), jnp.asarray(cls_t),
                jnp.asarray(box_t), jnp.asarray(pos), np.float32(lr), np.float32(n))
            losses.append(float(loss))
            if n % 10 == 0:
                print(f"  step {n}/{total} loss {losses[-1]:.3f} lr {lr:.5f} {time.time() - train_started:.0f}s",
                      flush=True)
        aps = arch.evaluate(run["ema"], run["stats"], val_x, val_boxes)
        value = mean_ap(aps)
        run["epoch"] = epoch
        run["history"].append({"epoch": epoch, "step": run["step"], "loss": float(np.mean(losses)),
                               "val_ap50": aps, "val_mAP50": value})
        if value > run["best_map"]:
            run.update(best=(run["ema"], run["stats"]), best_map=value, best_epoch=epoch)
        print(f"epoch {epoch}/{hp['epochs']} step {run['step']} loss {np.mean(losses):.3f} "
              f"val_mAP50={value:.4f} {time.time() - train_started:.0f}s", flush=True)
        save_checkpoint(checkpoint, run)
    train_seconds = time.time() - train_started

    out = os.path.join(root, "model")
    os.makedirs(out, exist_ok=True)
    job = os.environ.get("TRAINING_JOB_NAME", "local")
    version = hp.get("model_version") or f"{model['version_prefix']}-{job}"
    best_params, best_stats = run["best"]
    onnx_model = arch.export_onnx(best_params, best_stats, os.path.join(out, "model.onnx"), version)
    # The ONNX reference evaluator checks the export against JAX; it takes minutes for the `s` size
    # on a CPU, whose graph is the same code with wider layers, so only `tiny` is checked here.
    error = arch.check_export(onnx_model, best_params, best_stats, val_x[0]) if hp["model"] == "tiny" else None
    report = {
        "model_version": version, "model": hp["model"], "input_size": arch.SIZE, "widths": model["widths"],
        "parameters": int(sum(np.size(v) for v in flat(run["params"]))),
        "hyperparameters": hp, "warm_start": os.path.basename(weights) if weights else None,
        "train_photos": int(len(train_x)), "val_photos": int(len(val_x)),
        "epochs_run": run["epoch"], "steps": run["step"], "steps_per_epoch": steps_per_epoch,
        "stopped_early": stopped_early, "resumed_from_epoch": resumed_from, "warm_start_val_mAP50": start_map,
        "best_epoch": run["best_epoch"], "best_val_mAP50": run["best_map"], "history": run["history"],
        "train_seconds": round(train_seconds, 1), "export_max_abs_error": error,
        "device": str(jax.devices()[0].device_kind), "jax": jax.__version__,
    }
    with open(os.path.join(out, "training-report.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"model {version}: best val mAP50 {run['best_map']:.4f} (epoch {run['best_epoch']}), "
          f"{run['step']} steps in {train_seconds:.0f}s", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", nargs="?", default="train", choices=["train"])
    ap.add_argument("--opt-ml", default="/opt/ml", help="the SageMaker folder tree (default /opt/ml)")
    args = ap.parse_args(argv)
    # A spot interruption or StopTrainingJob sends SIGTERM: end at once; the last epoch's
    # checkpoint is what the next start resumes from.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run_job(args.opt_ml)
    except Exception as e:  # noqa: BLE001 - every failure must leave its reason for SageMaker
        reason = str(e) if isinstance(e, JobError) else f"{type(e).__name__}: {e}"
        failure = os.path.join(args.opt_ml, "output")
        os.makedirs(failure, exist_ok=True)
        with open(os.path.join(failure, "failure"), "w") as f:
            f.write(" ".join(reason.split())[:1000] + "\n")
        print(f"training failed: {reason}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
