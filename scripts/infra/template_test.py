"""What the template, the workflows and infra/DEPLOY.md promise an operator, checked against each other.

Runs in the cfn-lint virtual environment (scripts/infra/check.sh), whose decoder reads the
template's short-form tags (`!Sub`, `!If`, ...) into their `Fn::` forms.
"""

import json
import math
import re
import unittest
from pathlib import Path

from cfnlint.decode import decode_str

REPO = Path(__file__).resolve().parents[2]
DEPLOY = (REPO / "infra/DEPLOY.md").read_text(encoding="utf-8")
TEMPLATE_TEXT = (REPO / "infra/template.yaml").read_text(encoding="utf-8")
TEMPLATE, _ = decode_str(TEMPLATE_TEXT)
RESOURCES = TEMPLATE["Resources"]
RETRAIN = json.loads((REPO / "statemachines/retrain.asl.json").read_text(encoding="utf-8"))

# Every Allow on "*" and why AWS leaves no narrower resource; DEPLOY.md must list each.
STAR_ALLOWED = {
    "AccountAdministersThroughIam": "a key policy's Resource is always the key itself",
    "CloudWatchLogsEncryptStackLogGroups": "a key policy's Resource is always the key itself",
    "AlarmsPublishToEncryptedTopic": "a key policy's Resource is always the key itself",
    "EventRulesDeadLetterToEncryptedQueue": "a key policy's Resource is always the key itself",
    "BudgetsPublishToEncryptedTopic": "a key policy's Resource is always the key itself",
    "PublishDriftMetrics": "cloudwatch:PutMetricData has no resource type",
    "ContainerMetrics": "cloudwatch:PutMetricData has no resource type",
    "EcrLogin": "ecr:GetAuthorizationToken has no resource type",
    "ListPackagesAndConfigs": "SageMaker's List actions have no resource type",
    "DeliverExecutionLogsAndTraces": "log delivery and X-Ray actions have no resource type",
}


def statements(node):
    """Every IAM statement (a mapping with Effect and Action) anywhere under `node`."""
    if isinstance(node, dict):
        if "Effect" in node and ("Action" in node or "NotAction" in node):
            yield node
        for value in node.values():
            yield from statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from statements(value)


def as_list(value):
    return value if isinstance(value, list) else [value]


def of_type(kind):
    return {name: r for name, r in RESOURCES.items() if r.get("Type") == kind}


def tasks(definition):
    return {n: s for n, s in definition["States"].items() if s["Type"] == "Task"}


class CanaryTest(unittest.TestCase):
    def test_deploy_md_states_the_canarys_real_share_of_traffic(self):
        policy = tasks(RETRAIN)["UpdateEndpointCanary"]["Parameters"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]
        size = policy["TrafficRoutingConfiguration"]["CanarySize"]
        fleet = int(TEMPLATE["Parameters"]["EndpointInstanceCount"]["Default"])
        # SageMaker routes by capacity: a percentage rounds up to whole instances.
        instances = size["Value"] if size["Type"] == "INSTANCE_COUNT" else math.ceil(size["Value"] * fleet / 100)
        share = round(100 * instances / fleet)
        self.assertIn(f"{share} % of the traffic", DEPLOY)
        for text in (DEPLOY, TEMPLATE_TEXT, json.dumps(RETRAIN)):
            self.assertNotRegex(text, r"10 ?% canary|canary \(10 %")


class LeastPrivilegeTest(unittest.TestCase):
    def test_every_star_resource_is_known_and_documented(self):
        for statement in statements(RESOURCES):
            if statement["Effect"] == "Allow" and "*" in as_list(statement.get("Resource")):
                sid = statement.get("Sid")
                self.assertIn(sid, STAR_ALLOWED, statement)
                self.assertIn(sid, DEPLOY, f"DEPLOY.md does not list {sid}")

    def test_images_are_pulled_only_from_their_own_repository(self):
        pulls = [s for s in statements(RESOURCES) if "ecr:BatchGetImage" in as_list(s["Action"])]
        self.assertEqual(len(pulls), 3)
        for statement in pulls:
            self.assertNotIn("*", json.dumps(statement["Resource"]))

    def test_each_kind_of_sagemaker_work_has_its_own_role(self):
        t = tasks(RETRAIN)
        roles = [
            t["TuneHyperParameters"]["Parameters"]["TrainingJobDefinition"]["RoleArn"],
            t["EvaluateCandidate"]["Parameters"]["RoleArn"],
            t["CreateModel"]["Parameters"]["ExecutionRoleArn"],
        ]
        self.assertEqual(len(set(roles)), 3, roles)

    def test_jobs_are_reachable_only_when_this_stack_started_them(self):
        machine = RESOURCES["RetrainStateMachine"]["Properties"]
        for statement in statements(machine["Policies"]):
            for resource in as_list(statement.get("Resource")):
                arn = resource.get("Fn::Sub") if isinstance(resource, dict) else resource
                if isinstance(arn, str) and arn.endswith("job/*"):
                    self.assertIn("Condition", statement, statement)

    def test_service_principals_in_the_key_policy_are_conditioned(self):
        for statement in RESOURCES["Key"]["Properties"]["KeyPolicy"]["Statement"]:
            if "Service" in statement["Principal"]:
                self.assertIn("Condition", statement, statement["Sid"])


class SageMakerLogGroupsTest(unittest.TestCase):
    def test_sagemakers_log_groups_are_declared_with_retention_and_key(self):
        groups = {json.dumps(r["Properties"]["LogGroupName"]): r for r in of_type("AWS::Logs::LogGroup").values()}
        for name in ("/aws/sagemaker/TrainingJobs", "/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/Endpoints/${EndpointName}"):
            group = next((g for key, g in groups.items() if name in key), None)
            self.assertIsNotNone(group, name)
            self.assertIn("RetentionInDays", group["Properties"])
            self.assertIn("KmsKeyId", group["Properties"])


class TransportTest(unittest.TestCase):
    def test_every_bucket_refuses_tls_below_1_2(self):
        policies = of_type("AWS::S3::BucketPolicy").values()
        self.assertEqual(len(policies), len(of_type("AWS::S3::Bucket")))
        for policy in policies:
            denies = [s for s in statements(policy) if s["Effect"] == "Deny"]
            self.assertTrue(any("s3:TlsVersion" in json.dumps(s.get("Condition")) for s in denies), policy)

    def test_every_topic_refuses_plain_http(self):
        covered = set()
        for policy in of_type("AWS::SNS::TopicPolicy").values():
            if any(
                s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s.get("Condition"))
                for s in statements(policy)
            ):
                covered |= {t["Ref"] for t in policy["Properties"]["Topics"]}
        self.assertEqual(covered, set(of_type("AWS::SNS::Topic")))


class NetworkTest(unittest.TestCase):
    def test_sagemaker_containers_run_network_isolated(self):
        t = tasks(RETRAIN)
        self.assertIs(t["TuneHyperParameters"]["Parameters"]["TrainingJobDefinition"]["EnableNetworkIsolation"], True)
        self.assertIs(t["EvaluateCandidate"]["Parameters"]["NetworkConfig"]["EnableNetworkIsolation"], True)
        self.assertIs(t["CreateModel"]["Parameters"]["EnableNetworkIsolation"], True)

    def test_functions_take_the_optional_vpc(self):
        vpc = TEMPLATE["Globals"]["Function"]["VpcConfig"]
        self.assertEqual(vpc["Fn::If"][0], "HasVpc")
        endpoints = of_type("AWS::EC2::VPCEndpoint").values()
        services = {e["Properties"]["ServiceName"]["Fn::Sub"].split("${AWS::Region}.")[1] for e in endpoints}
        self.assertEqual(services, {"s3", "states", "sagemaker.runtime", "sagemaker.api", "monitoring", "xray"})
        self.assertTrue(all(e.get("Condition") == "CreateEndpointsInVpc" for e in endpoints))


class DeployDocTest(unittest.TestCase):
    WORDS = {4: "four", 5: "five", 6: "six", 7: "seven"}

    def test_alarm_count(self):
        alarms = len(of_type("AWS::CloudWatch::Alarm"))
        self.assertIn(f"{self.WORDS[alarms]} alarms", DEPLOY)
        for n, word in self.WORDS.items():
            if n != alarms:
                self.assertNotIn(f"{word} alarms", DEPLOY)

    def test_access_logging_is_claimed_only_for_buckets_that_log(self):
        logged = [n for n, b in of_type("AWS::S3::Bucket").items() if "LoggingConfiguration" in b["Properties"]]
        self.assertLess(len(logged), len(of_type("AWS::S3::Bucket")))
        self.assertNotRegex(DEPLOY, r"All three[^.]*access logging")
        self.assertIn("the log bucket does not log itself", DEPLOY)

    def test_toolchain_words_match_the_repository(self):
        if not (REPO / "rust-toolchain.toml").exists():
            self.assertNotIn("repository's toolchain", DEPLOY)

    def test_endpoint_dockerfile_is_documented(self):
        self.assertIn("infra/Dockerfile.endpoint", DEPLOY)


if __name__ == "__main__":
    unittest.main()
