"""Training throughput of the job's step (augmentation, targets, JAX step) on this machine:
steps/s and photos/s per model size, after the compile. The photos are random pixels with one
box each; what is timed does not depend on their content.

Usage: scripts/detector/.venv/bin/python scripts/detector/bench_train.py [--steps N] [--sizes tiny,s]
"""

import argparse
import time

import numpy as np

import job
import train as arch


def bench(size, batch, steps):
    model = job.MODELS[size]
    arch.configure(model["size"], model["widths"], True)
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    photos = rng.integers(0, 255, (max(batch, 8), 3, arch.SIZE, arch.SIZE), dtype=np.uint8)
    s = arch.SIZE
    boxes = [[(0, 0.1 * s, 0.2 * s, 0.5 * s, 0.25 * s)] for _ in photos]
    hp = {**job.read_hyperparameters("/nonexistent"), "batch": batch, "mosaic": 0.5, "cutmix": 0.1}
    params = arch.init_params(jax.random.PRNGKey(0))
    stats = [(jnp.zeros(c), jnp.ones(c)) for _, c, _, _ in arch.LAYERS]
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state, ema = (zeros, zeros), params
    step = job.make_step(hp)

    def one(n):
        nonlocal params, ema, stats, state
        idx = rng.integers(0, len(photos), batch)
        x, (c, b, p) = job.augment(photos, boxes, idx, hp, rng)
        params, ema, stats, state, loss = step(params, ema, stats, state, jnp.asarray(x), jnp.asarray(c),
                                               jnp.asarray(b), jnp.asarray(p), np.float32(1e-3), np.float32(n))
        jax.block_until_ready(loss)

    t = time.time()
    one(1)
    compile_s = time.time() - t
    t = time.time()
    for n in range(steps):
        one(n + 2)
    rate = steps / (time.time() - t)
    params_count = sum(np.size(v) for v in jax.tree_util.tree_leaves(params))
    print(f"{size:>4} ({params_count / 1e6:.2f} M parameters, {arch.SIZE} px, batch {batch}, "
          f"{jax.devices()[0].platform}): {rate:.2f} steps/s, {rate * batch:.1f} photos/s "
          f"(first step with the compile {compile_s:.1f} s)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--sizes", default="tiny,s")
    args = ap.parse_args()
    for size in args.sizes.split(","):
        bench(size, 16 if size == "tiny" else 4, args.steps)


if __name__ == "__main__":
    main()
