"""What the integration suite runs the real function binaries with.

- RuntimeApi: a local implementation of the Lambda Runtime API (`/2018-06-01/runtime/...`:
  invocation/next, /response, /error, init/error), the interface Lambda itself gives a
  `provided.al2023` bootstrap. It is a stand-in for Lambda's own service, nothing more: the
  function binaries, their SDK clients and their serialisation are the real ones.
- Emulator: moto's server on 127.0.0.1 (S3, Step Functions, SageMaker, CloudWatch).
- EndpointRouter: the SageMaker runtime API path (`POST /endpoints/{name}/invocations`) routed to
  the project's own endpoint container binary (`local-endpoint`, `POST /invocations`). The routing
  is the harness's; the container and its contract are the project's.
"""

import http.client
import http.server
import json
import os
import queue
import socket
import subprocess
import threading
import time
import uuid

RUNTIME_PREFIX = "/2018-06-01/runtime"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(port, path, timeout=60.0, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process on port {port} exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", path)
                conn.getresponse().read()
                return
            finally:
                conn.close()
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port}{path} within {timeout}s")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A function stopped while its `next` request was held open: nothing to report.
        pass


class Invocation:
    def __init__(self, payload):
        self.request_id = str(uuid.uuid4())
        self.payload = payload
        self.done = threading.Event()
        self.kind = None  # "response" or "error"
        self.body = None


class RuntimeApi:
    """One function's Runtime API: events go in with invoke(), answers come back."""

    def __init__(self, function_name):
        self.function_name = function_name
        self.pending = queue.Queue()
        self.in_flight = {}
        self.init_error = None
        self.init_error_type_header = None
        self.init_error_seen = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def read_body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self):
                if self.path != f"{RUNTIME_PREFIX}/invocation/next":
                    return self.reply(404, b'{"errorType":"NotFound"}')
                invocation = api.pending.get()
                api.in_flight[invocation.request_id] = invocation
                deadline_ms = int((time.time() + 120) * 1000)
                self.reply(
                    200,
                    json.dumps(invocation.payload).encode(),
                    [
                        ("Content-Type", "application/json"),
                        ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
                        ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn",
                            f"arn:aws:lambda:eu-west-1:123456789012:function:{api.function_name}",
                        ),
                        ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                    ],
                )

            def do_POST(self):
                body = self.read_body()
                if self.path == f"{RUNTIME_PREFIX}/init/error":
                    api.init_error = json.loads(body)
                    api.init_error_type_header = self.headers.get(
                        "Lambda-Runtime-Function-Error-Type"
                    )
                    api.init_error_seen.set()
                    return self.reply(202, b'{"status":"OK"}')
                parts = self.path[len(RUNTIME_PREFIX) :].strip("/").split("/")
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    invocation = api.in_flight.pop(parts[1], None)
                    if invocation is None:
                        return self.reply(400, b'{"errorType":"InvalidRequestID"}')
                    invocation.kind = parts[2]
                    invocation.body = json.loads(body) if body else None
                    invocation.done.set()
                    return self.reply(202, b'{"status":"OK"}')
                self.reply(404, b'{"errorType":"NotFound"}')

        self.server = Server(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, payload, timeout=120.0):
        invocation = Invocation(payload)
        self.pending.put(invocation)
        if not invocation.done.wait(timeout):
            raise TimeoutError(f"{self.function_name} gave no answer within {timeout}s")
        return invocation.kind, invocation.body

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Function:
    """A function binary started the way Lambda starts a bootstrap, on its own Runtime API."""

    def __init__(self, binary, name, env, log_dir):
        self.api = RuntimeApi(name)
        self.name = name
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            **env,
        }
        self.log_path = os.path.join(log_dir, f"{name}-{uuid.uuid4().hex[:8]}.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [binary], env=environment, stdout=self.log, stderr=subprocess.STDOUT
        )

    def invoke(self, payload, timeout=120.0):
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {self.logs()}")
        return self.api.invoke(payload, timeout)

    def wait_exit(self, timeout=30.0):
        return self.process.wait(timeout)

    def logs(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        self.api.close()


class Emulator:
    """moto's server, on 127.0.0.1 only."""

    def __init__(self, python, log_dir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(log_dir, "moto.log"), "wb")
        self.process = subprocess.Popen(
            [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_http(self.port, "/moto-api/", process=self.process)

    def stop(self):
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


class EndpointRouter:
    """`POST /endpoints/{name}/invocations` → the container's `POST /invocations`."""

    def __init__(self, container_port, endpoint_name):
        container = ("127.0.0.1", container_port)
        self.calls = 0
        router = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path != f"/endpoints/{endpoint_name}/invocations":
                    payload = json.dumps({"message": f"no endpoint at {self.path}"}).encode()
                    self.send_response(400)
                    self.send_header("x-amzn-ErrorType", "ValidationError")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                router.calls += 1
                conn = http.client.HTTPConnection(*container, timeout=60)
                headers = {
                    "Content-Type": self.headers.get("Content-Type", ""),
                    "Accept": self.headers.get("Accept", "application/json"),
                }
                try:
                    conn.request("POST", "/invocations", body, headers)
                    response = conn.getresponse()
                    answer = response.read()
                finally:
                    conn.close()
                self.send_response(response.status)
                self.send_header(
                    "Content-Type", response.getheader("Content-Type", "application/json")
                )
                self.send_header("x-Amzn-Invoked-Production-Variant", "AllTraffic")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
