"""The four function binaries, as Lambda runs them, against an AWS emulator.

Each test starts a real function binary on the harness's Runtime API (harness.py), with its SDK
clients pointed at moto's server by `AWS_ENDPOINT_URL`, and checks what it answered and what it
left in the emulator. Run by scripts/integration/run.sh, which builds the binaries and installs
the pinned emulator.

Known emulator gaps, and how the tests work around them:
- moto ignores conditions on CopyObject (`x-amz-copy-source-if-match`, `If-None-Match`): the
  quarantine copy's create-only guarantee is not exercised here (the store adapter's mocked tests
  cover it).
- Step Functions executions start but never run or finish: the test hands pricing the input of
  the execution validate started, which is what the inspection workflow's PriceListing task
  passes (`Payload.$: "$"`).
- SageMaker UpdateEndpoint is not implemented: a rollback against the emulator fails at that
  step, which is how the test checks that a rollback failing part-way is audited and that the
  retry does not reject again.
- SageMaker runtime InvokeEndpoint with a binary body is not served: pricing's
  `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` points at harness.EndpointRouter, in front of the
  project's own endpoint container binary.
"""

import json
import os
import subprocess
import tempfile
import time
import unittest

import boto3

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("INTEGRATION_BIN_DIR", os.path.join(ROOT, "target", "debug"))
REGION = "eu-west-1"
UPLOADS = "it-uploads"
DATA = "it-data"
ENDPOINT = "damage-detector"
GROUP = "damage-detector"
ROLE = "arn:aws:iam::123456789012:role/it"


def binary(name):
    return os.path.join(BIN, name)


def setUpModule():
    Emulated.set_up_world()


def tearDownModule():
    Emulated.tear_down_world()


class Emulated(unittest.TestCase):
    """One emulator, endpoint container and set of resources for the whole suite."""

    @classmethod
    def set_up_world(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="integration-")
        cls.logs = cls.tmp.name
        cls.emulator = harness.Emulator(os.environ.get("INTEGRATION_PYTHON", "python3"), cls.logs)
        container_port = harness.free_port()
        cls.container_log = open(os.path.join(cls.logs, "local-endpoint.log"), "wb")
        cls.container = subprocess.Popen(
            [
                binary("local-endpoint"),
                "--model",
                os.path.join(ROOT, "models", "damage-detector.onnx"),
                "--bind",
                "127.0.0.1",
                "--port",
                str(container_port),
            ],
            stdout=cls.container_log,
            stderr=subprocess.STDOUT,
        )
        harness.wait_for_http(container_port, "/ping", process=cls.container)
        cls.router = harness.EndpointRouter(container_port, ENDPOINT)
        os.environ.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
        )
        client = lambda service: boto3.client(  # noqa: E731
            service, region_name=REGION, endpoint_url=cls.emulator.url
        )
        cls.s3 = client("s3")
        cls.sfn = client("stepfunctions")
        cls.sagemaker = client("sagemaker")
        cls.cloudwatch = client("cloudwatch")
        for bucket in (UPLOADS, DATA):
            cls.s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        with open(os.path.join(ROOT, "statemachines", "inspection.asl.json")) as f:
            definition = f.read()
        cls.inspection_arn = cls.sfn.create_state_machine(
            name="it-inspection", definition=definition, roleArn=ROLE
        )["stateMachineArn"]

    @classmethod
    def tear_down_world(cls):
        cls.router.stop()
        cls.container.terminate()
        cls.container.wait(10)
        cls.container_log.close()
        cls.emulator.stop()
        cls.tmp.cleanup()

    def env(self, **overrides):
        env = {
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": self.emulator.url,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.router.url,
            "AWS_MAX_ATTEMPTS": "2",
            "S3_FORCE_PATH_STYLE": "true",
            "UPLOADS_BUCKET": UPLOADS,
            "DATA_BUCKET": DATA,
            "INSPECTION_STATE_MACHINE_ARN": self.inspection_arn,
            "ENDPOINT_NAME": ENDPOINT,
            "MODEL_PACKAGE_GROUP": GROUP,
        }
        env.update(overrides)
        return {k: v for k, v in env.items() if v is not None}

    def start(self, name, **overrides):
        function = harness.Function(binary(name), name, self.env(**overrides), self.logs)
        self.addCleanup(function.stop)
        return function

    def invoke_ok(self, function, payload):
        kind, body = function.invoke(payload)
        self.assertEqual(kind, "response", f"{function.name}: {body}\n{function.logs()}")
        return body

    def photos(self, count, seed):
        out = os.path.join(self.logs, f"photos-{seed}")
        subprocess.run(
            [binary("synth-photos"), "--out", out, "--count", str(count), "--seed", str(seed),
             "--width", "1280", "--height", "960"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        images = os.path.join(out, "images")
        photos = []
        for name in sorted(os.listdir(images)):
            with open(os.path.join(images, name), "rb") as f:
                photos.append(f.read())
        return photos

    def s3_event(self, keys):
        """The committed S3 notification fixture, announcing these uploads as S3 would (keys
        URL-encoded, the emulator's sizes and ETags)."""
        from urllib.parse import quote_plus

        with open(os.path.join(ROOT, "events", "validate", "s3-photos-created.json")) as f:
            template = json.load(f)["Records"][0]
        records = []
        for key in keys:
            head = self.s3.head_object(Bucket=UPLOADS, Key=key)
            record = json.loads(json.dumps(template))
            record["s3"]["bucket"].update(name=UPLOADS, arn=f"arn:aws:s3:::{UPLOADS}")
            record["s3"]["object"].update(
                key=quote_plus(key, safe="/"), size=head["ContentLength"],
                eTag=head["ETag"].strip('"'),
            )
            records.append(record)
        return {"Records": records}

    def upload_listing(self, listing_id, names, seed):
        keys = []
        for name, body in zip(names, self.photos(len(names), seed)):
            key = f"listings/{listing_id}/photos/{name}"
            self.s3.put_object(Bucket=UPLOADS, Key=key, Body=body, ContentType="image/jpeg")
            keys.append(key)
        manifest = {
            "listing_id": listing_id, "currency": "EUR", "base_price": 18500.0,
            "vehicle": {"make": "Volkswagen", "model": "Golf", "year": 2019},
            "photos": [{"name": n, "side": "left"} for n in names],
        }
        manifest_key = f"listings/{listing_id}/manifest.json"
        self.s3.put_object(Bucket=UPLOADS, Key=manifest_key, Body=json.dumps(manifest).encode())
        return keys + [manifest_key]

    def executions(self):
        return self.sfn.list_executions(stateMachineArn=self.inspection_arn)["executions"]

    def data_keys(self, prefix):
        listed = self.s3.list_objects_v2(Bucket=DATA, Prefix=prefix)
        return [o["Key"] for o in listed.get("Contents", [])]

    def data_json(self, key):
        return json.loads(self.s3.get_object(Bucket=DATA, Key=key)["Body"].read())


class Pipeline(Emulated):
    def test_upload_validate_start_price_then_drift_check_publishes(self):
        validate = self.start("validate")
        keys = self.upload_listing("L-IT-1", ["left-1.jpg", "front.jpg"], seed=3)
        answer = self.invoke_ok(validate, self.s3_event(keys))
        self.assertEqual(answer["listings"]["L-IT-1"]["status"], "started", answer)
        # At-least-once delivery: the same event again starts nothing new. (StartExecution with
        # the same name and input is idempotent while it runs, so either status is the truth.)
        again = self.invoke_ok(validate, self.s3_event(keys))
        self.assertIn(again["listings"]["L-IT-1"]["status"], ("started", "already_started"), again)
        self.assertEqual(
            again["listings"]["L-IT-1"]["execution_name"],
            answer["listings"]["L-IT-1"]["execution_name"],
        )
        started = [e for e in self.executions() if e["name"].startswith("L-IT-1-")]
        self.assertEqual(len(started), 1, started)

        # What the inspection workflow's PriceListing task passes: the execution's input.
        execution = self.sfn.describe_execution(executionArn=started[0]["executionArn"])
        pricing = self.start("pricing")
        priced = self.invoke_ok(pricing, json.loads(execution["input"]))
        self.assertEqual(priced["listing_id"], "L-IT-1")
        self.assertGreater(priced["adjusted_price"], 0)
        self.assertGreaterEqual(self.router.calls, 2)
        self.assertIn("results/L-IT-1.json", self.data_keys("results/"))
        predictions = [k for k in self.data_keys("predictions/") if "/L-IT-1/" in k]
        self.assertEqual(len(predictions), 2, predictions)
        model_version = priced["model_version"]

        # drift-check over the day pricing just wrote, against a baseline with no features:
        # every feature is insufficient data, and the verdict still reaches CloudWatch.
        self.s3.put_object(
            Bucket=DATA,
            Key=f"baselines/{model_version}/profile.json",
            Body=json.dumps({
                "format_version": 1, "model_version": model_version,
                "model_profile": "damage-detector", "created_at": "2026-11-01T00:00:00Z",
                "features": {},
            }).encode(),
        )
        # Today's records: a manual window (a scheduled check ends at the start of today).
        today = time.strftime("%Y-%m-%d", time.gmtime())
        tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
        window = {"start": f"{today}T00:00:00Z", "end": f"{tomorrow}T00:00:00Z"}
        drift = self.start("drift-check")
        summary = self.invoke_ok(drift, {"trigger": "manual", "window": window})
        self.assertEqual(summary["model_version"], model_version, summary)
        self.assertEqual(summary["metrics"]["status"], "published", summary)
        metrics = self.cloudwatch.list_metrics(Namespace="DamagePricing/Drift")["Metrics"]
        self.assertIn("Verdict", {m["MetricName"] for m in metrics}, metrics)

        # CloudWatch unreachable: the report is written and the check answers, metrics missing.
        closed = f"http://127.0.0.1:{harness.free_port()}"
        outage = self.start("drift-check", AWS_ENDPOINT_URL_CLOUDWATCH=closed)
        summary = self.invoke_ok(outage, {"trigger": "manual", "window": window})
        self.assertEqual(summary["metrics"]["status"], "missing", summary)
        self.assertEqual(summary["metrics"]["error_type"], "RetryableUnavailable", summary)
        report = self.data_json(summary["report"]["key"])
        self.assertEqual(report["metrics"]["status"], "missing")

    def test_a_manifest_pricing_would_refuse_is_quarantined_at_intake(self):
        validate = self.start("validate")
        keys = self.upload_listing("L-IT-2", ["left 1.jpg", "tür vorne.jpg"], seed=5)
        answer = self.invoke_ok(validate, self.s3_event(keys))
        self.assertEqual(answer["listings"]["L-IT-2"]["status"], "invalid_manifest", answer)
        manifest = [o for o in answer["objects"] if o["key"].endswith("manifest.json")][0]
        self.assertEqual(manifest["outcome"], "quarantined", manifest)
        self.assertEqual(manifest["rejection"]["reason"], "invalid_manifest", manifest)
        self.assertIn('for example to "left_1.jpg"', manifest["rejection"]["detail"])
        self.assertFalse([e for e in self.executions() if e["name"].startswith("L-IT-2-")])
        # Nothing deleted: the seller's uploads are all still there.
        listed = self.s3.list_objects_v2(Bucket=UPLOADS, Prefix="listings/L-IT-2/")
        self.assertEqual(len(listed["Contents"]), 3)


class Registry(Emulated):
    def test_a_rollback_failing_at_update_endpoint_is_audited_and_not_rejected_twice(self):
        sm = self.sagemaker
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        packages = []
        for version in ("damage-it-champion", "damage-it-candidate"):
            arn = sm.create_model_package(
                ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved",
                CustomerMetadataProperties={"model_version": version},
                InferenceSpecification={
                    "Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/detector:1"}],
                    "SupportedContentTypes": ["image/jpeg", "image/png"],
                    "SupportedResponseMIMETypes": ["application/json"],
                },
            )["ModelPackageArn"]
            packages.append(arn)
            sm.create_model(ModelName=f"model-{version}", ExecutionRoleArn=ROLE,
                            PrimaryContainer={"ModelPackageName": arn})
            sm.create_endpoint_config(
                EndpointConfigName=f"cfg-{version}",
                ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": f"model-{version}",
                                     "InitialInstanceCount": 1, "InstanceType": "ml.g4dn.xlarge"}],
            )
            time.sleep(1.1)  # the rollback looks for configurations created strictly before
        sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="cfg-damage-it-candidate")
        guard = self.start("approval-guard")
        with open(os.path.join(ROOT, "events", "approval-guard", "manual-rollback.json")) as f:
            event = json.load(f)
        event["endpoint_name"] = ENDPOINT

        kind, error = guard.invoke(event)
        self.assertEqual(kind, "error", error)
        self.assertIn("UpdateEndpoint", error["errorMessage"], error)
        status = sm.describe_model_package(ModelPackageName=packages[1])["ModelApprovalStatus"]
        self.assertEqual(status, "Rejected")
        audit = self.data_keys("audit/")
        self.assertEqual(sorted(k.rsplit("-", 1)[1] for k in audit),
                         ["RollbackFailed.json", "RollbackIntent.json"], audit)
        intent = self.data_json([k for k in audit if k.endswith("-RollbackIntent.json")][0])
        self.assertEqual(intent["rollback"]["restored_config"], "cfg-damage-it-champion")

        # The retry: already Rejected, so only the endpoint update is tried again.
        kind, error = guard.invoke(event)
        self.assertEqual(kind, "error", error)
        audit = sorted(self.data_keys("audit/"))
        self.assertEqual(len(audit), 4, audit)
        intents = [self.data_json(k) for k in audit if k.endswith("RollbackIntent.json")]
        self.assertEqual(
            sum("already Rejected" in i["reasons"][0] for i in intents), 1, intents
        )


class BadInput(Emulated):
    def test_malformed_events_are_invalid_input_in_every_function(self):
        for name in ("validate", "pricing", "drift-check", "approval-guard"):
            function = self.start(name)
            for payload in ({}, [], {"trigger": "bogus"}):
                with self.subTest(function=name, payload=payload):
                    kind, body = function.invoke(payload)
                    self.assertEqual(kind, "error", body)
                    self.assertEqual(body["errorType"], "InvalidInput", body)

    def test_missing_configuration_is_reported_at_init_as_config_error(self):
        for name, variable in (
            ("validate", "INSPECTION_STATE_MACHINE_ARN"),
            ("pricing", "ENDPOINT_NAME"),
            ("drift-check", "DATA_BUCKET"),
            ("approval-guard", "MODEL_PACKAGE_GROUP"),
        ):
            with self.subTest(function=name):
                function = self.start(name, **{variable: None})
                self.assertTrue(function.api.init_error_seen.wait(30), function.logs())
                self.assertNotEqual(function.wait_exit(), 0)
                error = function.api.init_error
                self.assertEqual(error["errorType"], "ConfigError", error)
                self.assertIn(variable, error["errorMessage"])
                self.assertEqual(function.api.init_error_type_header, "ConfigError")


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    failed = len(result.failures) + len(result.errors)
    print(f"integration: {result.testsRun - failed} passed, {failed} failed")
    raise SystemExit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
