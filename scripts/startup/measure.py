#!/usr/bin/env python3
"""Cold-start time and deployment size of a Lambda function binary.

Serves the Lambda Runtime API's `GET /2018-06-01/runtime/invocation/next` on localhost, starts the
binary with AWS_LAMBDA_RUNTIME_API pointing at it (plus dummy AWS and function settings), and
measures the time from just before the process is spawned to its first poll: configuration read,
SDK configuration loaded and clients built. Repeats N times and reports the median. Also zips the
binary as `bootstrap` (what `cargo lambda build --output-format zip` ships) and reports the size.

    python3 scripts/startup/measure.py target/release/validate --runs 25

Prints one JSON object; exits 1 when a target is missed. Python standard library only.
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NEXT_PATH = "/2018-06-01/runtime/invocation/next"
TARGET_MS = 15.0
TARGET_ZIP_BYTES = 10 * 1024 * 1024

# What each function needs to start; dummy values, nothing is called.
FUNCTION_ENV = {
    "UPLOADS_BUCKET": "uploads",
    "DATA_BUCKET": "data",
    "INSPECTION_STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:123456789012:stateMachine:inspection",
    "RETRAIN_STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:123456789012:stateMachine:retrain",
    "ENDPOINT_NAME": "damage-detector",
    "MODEL_PACKAGE_GROUP": "damage-detector",
}

LAMBDA_ENV = {
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "AKIDUMMYDUMMYDUMMY",
    "AWS_SECRET_ACCESS_KEY": "dummy-secret",
    "AWS_SESSION_TOKEN": "dummy-token",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_LAMBDA_FUNCTION_NAME": "measure-startup",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/measure-startup",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/22/[$LATEST]0000",
    "LOG_FORMAT": "json",
}


class FirstPoll:
    """The time of the first `next` request since the last reset."""

    def __init__(self):
        self.lock = threading.Lock()
        self.event = threading.Event()
        self.at_ns = None

    def reset(self):
        with self.lock:
            self.event.clear()
            self.at_ns = None

    def record(self):
        now = time.monotonic_ns()
        with self.lock:
            if self.at_ns is None:
                self.at_ns = now
                self.event.set()


def make_handler(first_poll, stop):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != NEXT_PATH:
                self.send_error(404)
                return
            first_poll.record()
            # Hold the long poll open, as the real API does while no event is queued.
            stop.wait(5)
            try:
                self.send_error(503)
            except OSError:
                pass  # the measured process is gone, as intended

        def log_message(self, *args):
            pass

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a killed process drops its poll mid-request: expected, not worth a traceback


def measure_once(binary, env, first_poll, timeout_s):
    first_poll.reset()
    start = time.monotonic_ns()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not first_poll.event.wait(timeout_s):
            process.kill()
            _, err = process.communicate()
            raise RuntimeError(f"no poll within {timeout_s}s; stderr: {err.decode(errors='replace')[-2000:]}")
        return (first_poll.at_ns - start) / 1e6
    finally:
        process.kill()
        process.wait()


def zipped_size(binary):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(binary, "rb") as f:
            archive.writestr(info, f.read())
    return len(buffer.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", help="release binary of a function, e.g. target/release/validate")
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=2, help="runs not counted (page cache)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for one poll")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra variable")
    args = parser.parse_args()

    first_poll = FirstPoll()
    stop = threading.Event()
    server = QuietServer(("127.0.0.1", 0), make_handler(first_poll, stop))
    threading.Thread(target=server.serve_forever, daemon=True).start()

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(LAMBDA_ENV)
    env.update(FUNCTION_ENV)
    env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = value

    try:
        for _ in range(args.warmup):
            measure_once(args.binary, env, first_poll, args.timeout)
        samples = [measure_once(args.binary, env, first_poll, args.timeout) for _ in range(args.runs)]
    finally:
        stop.set()
        server.shutdown()

    median = statistics.median(samples)
    zip_bytes = zipped_size(args.binary)
    result = {
        "binary": args.binary,
        "runs": args.runs,
        "startup_ms": {
            "median": round(median, 3),
            "min": round(min(samples), 3),
            "max": round(max(samples), 3),
            "samples": [round(s, 3) for s in samples],
        },
        "startup_target_ms": TARGET_MS,
        "binary_bytes": os.path.getsize(args.binary),
        "zip_bytes": zip_bytes,
        "zip_target_bytes": TARGET_ZIP_BYTES,
        "pass": median <= TARGET_MS and zip_bytes <= TARGET_ZIP_BYTES,
    }
    print(json.dumps(result, indent=2))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
