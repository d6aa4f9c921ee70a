"""Tests of the training job (`job.py`) on temporary `/opt/ml`-shaped trees with a few tiny photos.
Run by scripts/test.sh: `scripts/detector/.venv/bin/python -m unittest discover -s scripts/detector`."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import job  # noqa: E402
import train as arch  # noqa: E402


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_text(path):
    with open(path) as f:
        return f.read()


def write_dataset(channel, count=12, size=(96, 72)):
    """`count` photos, each a grey panel with one dark stroke (a scratch) and its YOLO label."""
    rng = np.random.default_rng(7)
    os.makedirs(os.path.join(channel, "images"))
    os.makedirs(os.path.join(channel, "labels"))
    images = []
    for i in range(count):
        w, h = size
        pixels = np.full((h, w, 3), 150 + rng.integers(-40, 40), np.uint8)
        x0, y0 = int(rng.integers(5, w // 2)), int(rng.integers(5, h // 2))
        pixels[y0 : y0 + 6, x0 : x0 + 30] = 30
        Image.fromarray(pixels).save(os.path.join(channel, "images", f"{i}.jpg"))
        with open(os.path.join(channel, "labels", f"{i}.txt"), "w") as f:
            f.write(f"0 {(x0 + 15) / w:.4f} {(y0 + 3) / h:.4f} {30 / w:.4f} {6 / h:.4f}\n")
        images.append({"image": f"images/{i}.jpg", "label": f"labels/{i}.txt",
                       "split": "val" if i % 4 == 3 else "train"})
    with open(os.path.join(channel, "manifest.json"), "w") as f:
        json.dump({"name": "test", "classes": ["scratch", "dent"], "images": images}, f)


def opt_ml(root, hyperparameters, **dataset):
    os.makedirs(os.path.join(root, "input", "config"))
    with open(os.path.join(root, "input", "config", "hyperparameters.json"), "w") as f:
        json.dump(hyperparameters, f)
    write_dataset(os.path.join(root, "input", "data", "manifest"), **dataset)
    return root


def run(root, **kwargs):
    return subprocess.run([sys.executable, os.path.join(HERE, "job.py"), "train", "--opt-ml", root],
                          capture_output=True, text=True, **kwargs)


FEW = {"epochs": "2", "batch": "4", "mosaic": "1.0", "cutmix": "0.5", "patience": "5", "lr0": "0.003"}


class TrainingJob(unittest.TestCase):
    def test_a_few_steps_give_a_loadable_model_the_metric_line_and_a_report(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = opt_ml(tmp, FEW)
            done = run(root)
            self.assertEqual(done.returncode, 0, done.stderr)
            metrics = re.findall(r"val_mAP50=([0-9.]+)", done.stdout)
            self.assertEqual(len(metrics), 2, done.stdout)  # one per epoch
            report = read_json(os.path.join(root, "model", "training-report.json"))
            self.assertEqual((report["steps"], report["epochs_run"], report["model"]), (6, 2, "tiny"))
            self.assertTrue(report["model_version"].startswith("damage-tiny-"))
            self.assertLess(report["parameters"], 200_000)
            self.assertFalse(os.path.exists(os.path.join(root, "output", "failure")))
            import onnx
            from onnx.reference import ReferenceEvaluator

            model = onnx.load(os.path.join(root, "model", "model.onnx"))
            meta = {p.key: p.value for p in model.metadata_props}
            self.assertEqual(meta["names"], "{0: 'scratch', 1: 'dent'}")
            self.assertEqual(meta["model_version"], report["model_version"])
            (out,) = ReferenceEvaluator(model).run(None, {"images": np.zeros((1, 3, 320, 320), np.float32)})
            self.assertEqual(out.shape, (1, 6, 1600))

    def test_a_broken_dataset_leaves_a_one_line_failure(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = opt_ml(tmp, FEW)
            with open(os.path.join(root, "input", "data", "manifest", "labels", "2.txt"), "w") as f:
                f.write("0 0.5 zero 0.1 0.1\n")
            done = run(root)
            self.assertEqual(done.returncode, 1)
            failure = read_text(os.path.join(root, "output", "failure"))
            self.assertEqual(failure.count("\n"), 1)
            self.assertIn("2.txt is not a YOLO label file", failure)
            self.assertFalse(os.path.exists(os.path.join(root, "model", "model.onnx")))

    def test_bad_hyperparameters_and_manifests_are_named(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = opt_ml(tmp, {**FEW, "model": "yolov8s.pt"})
            self.assertEqual(run(root).returncode, 1)
            self.assertIn("model='yolov8s.pt' is not one of tiny, s",
                          read_text(os.path.join(root, "output", "failure")))
        for bad, reason in [({"batch": 8}, "SageMaker passes strings"), ({"mosaic": "1.5"}, "not a probability"),
                            ({"lr": "0.1"}, "unknown hyperparameters lr")]:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "hp.json")
                with open(path, "w") as f:
                    json.dump(bad, f)
                with self.assertRaises(job.JobError) as caught:
                    job.read_hyperparameters(path)
                self.assertIn(reason, str(caught.exception))
        with tempfile.TemporaryDirectory() as tmp:
            write_dataset(tmp)
            os.remove(os.path.join(tmp, "images", "5.jpg"))
            with self.assertRaises(job.JobError) as caught:
                job.read_dataset(tmp)
            self.assertIn("images/5.jpg is not in the channel", str(caught.exception))

    def test_a_stopped_job_resumes_from_its_checkpoint_to_the_same_step_count(self):
        with tempfile.TemporaryDirectory() as tmp:
            hp = {**FEW, "epochs": "4"}
            root = opt_ml(tmp, hp, count=16)
            checkpoint = os.path.join(root, "checkpoints", job.CHECKPOINT)
            proc = subprocess.Popen([sys.executable, os.path.join(HERE, "job.py"), "--opt-ml", root],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 600
            while not os.path.exists(checkpoint) and proc.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)  # what a spot interruption sends
            self.assertEqual(proc.wait(), 143, "the job ended before it could be stopped")
            self.assertFalse(os.path.exists(os.path.join(root, "model", "model.onnx")))
            done = run(root)
            self.assertEqual(done.returncode, 0, done.stderr)
            report = read_json(os.path.join(root, "model", "training-report.json"))
            self.assertGreaterEqual(report["resumed_from_epoch"], 1)
            self.assertLess(report["resumed_from_epoch"], 4)
            self.assertEqual((report["epochs_run"], report["steps"]), (4, 12))  # 12 train photos, 4 a batch, 4 epochs
            self.assertEqual([h["epoch"] for h in report["history"]], [1, 2, 3, 4])

    def test_warm_start_reproduces_the_champion(self):
        """Fine-tuning starts from the champion's ONNX weights: with the calibrated batch norm the
        exported graph before any step is the champion's."""
        arch.configure(320, [16, 32, 48, 48], True)
        champion = os.path.join(HERE, "..", "..", "models", "first-release", "damage-detector-day.onnx")
        convs, head = job.read_onnx_weights(champion, "tiny")
        photos = np.random.default_rng(1).integers(0, 255, (4, 3, 320, 320), dtype=np.uint8)
        params, stats = job.warm_start(convs, head, photos)
        with tempfile.TemporaryDirectory() as tmp:
            model = arch.export_onnx(params, stats, os.path.join(tmp, "m.onnx"), "x")
            from onnx.reference import ReferenceEvaluator

            x = {"images": photos[:1].astype(np.float32) / 255.0}
            import onnx

            (mine,) = ReferenceEvaluator(model).run(None, x)
            (theirs,) = ReferenceEvaluator(onnx.load(champion)).run(None, x)
            self.assertLess(float(np.abs(mine - theirs).max()), 1e-2)
        with self.assertRaises(job.JobError):
            arch.configure(640, [128, 256, 512, 512], True)
            job.read_onnx_weights(champion, "s")

    def test_the_s_model_has_about_11m_parameters_and_trains_a_step_on_the_cpu(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = opt_ml(tmp, {**FEW, "model": "s", "epochs": "1", "batch": "2", "mosaic": "0"}, count=4)
            done = run(root)
            self.assertEqual(done.returncode, 0, done.stderr)
            report = read_json(os.path.join(root, "model", "training-report.json"))
            self.assertTrue(10_000_000 < report["parameters"] < 12_000_000, report["parameters"])
            self.assertTrue(report["model_version"].startswith("damage-s11m-"))
            self.assertEqual(report["steps"], 2)

    def test_mosaic_and_cutmix_keep_boxes_on_the_photo(self):
        arch.configure(320, [16, 32, 48, 48], True)
        rng = np.random.default_rng(3)
        images = rng.integers(0, 255, (4, 3, 320, 320), dtype=np.uint8)
        boxes = [[(0, 10.0, 10.0, 310.0, 40.0)], [(1, 100.0, 100.0, 140.0, 160.0)], [], [(0, 0.0, 300.0, 50.0, 320.0)]]
        for _ in range(20):
            canvas, out = job.mosaic(images, boxes, [0, 1, 2, 3], rng)
            self.assertEqual(canvas.shape, (3, 320, 320))
            for _, x1, y1, x2, y2 in out:
                self.assertTrue(0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 320)
            mixed, out = job.cutmix(images[0], boxes[0], images[1], boxes[1], rng)
            self.assertTrue(all(0 <= b[1] < b[3] <= 320 for b in out))
        x = job.hsv_jitter(images, (0.0, 0.0, 0.0), rng)
        self.assertLess(float(np.abs(x - images / 255.0).max()), 1e-5)  # zero gains change nothing


if __name__ == "__main__":
    unittest.main()
