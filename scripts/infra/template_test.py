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
LANE_TEXT = (REPO / "infra/lane.yaml").read_text(encoding="utf-8")
LANE, _ = decode_str(LANE_TEXT)
LANE_RESOURCES = LANE["Resources"]
PROFILES = {
    p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (REPO / "config/profiles").glob("*.json")
}
TABULAR = ("battery-soh-regressor", "failure-classifier")
FAMILY_RS = (REPO / "crates/tabular/src/family.rs").read_text(encoding="utf-8")

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
    "DescribeNetwork": "EC2's Describe actions have no resource-level permissions",
    "InterfacesInStackVpc": "the interfaces do not exist yet; the ec2:Vpc condition holds them to the stack's VPC",
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


# The definition every tuning trial runs, assigned before the tuning job (PlaceJobs).
TRAINING_JOB = RETRAIN["States"]["PlaceJobs"]["Assign"]["trainingJob"]


def lane_of_type(kind):
    return {name: r for name, r in LANE_RESOURCES.items() if r.get("Type") == kind}


def applications():
    """The root's nested tabular lanes by profile: {profile: application resource}."""
    return {
        r["Properties"]["Parameters"]["Profile"]: r
        for r in of_type("AWS::Serverless::Application").values()
        if r["Properties"].get("Location") == "lane.yaml"
    }


def evaluate(node, parameters, conditions=None):
    """The value of a condition or intrinsic function built from parameters (what CloudFormation computes)."""
    if isinstance(node, list):
        return [evaluate(n, parameters, conditions) for n in node]
    if not isinstance(node, dict):
        return node
    (fn, arg), = node.items()
    if fn == "Ref":
        return parameters[arg]
    if fn == "Fn::Sub":
        return re.sub(r"\$\{([^}]+)\}", lambda m: parameters[m.group(1)], arg)
    if fn == "Fn::Split":
        return evaluate(arg[1], parameters, conditions).split(arg[0])
    if fn == "Fn::Join":
        return arg[0].join(evaluate(arg[1], parameters, conditions))
    if fn == "Fn::Equals":
        a, b = evaluate(arg, parameters, conditions)
        return a == b
    if fn == "Fn::Not":
        return not evaluate(arg[0], parameters, conditions)
    if fn == "Condition":
        return evaluate(conditions[arg], parameters, conditions)
    raise ValueError(f"cannot evaluate {fn}")


def alarm_name(resource):
    return resource["Properties"]["AlarmName"]["Fn::Sub"]


def ref(value):
    return value.get("Ref") if isinstance(value, dict) else None


def getatt(value):
    return value.get("Fn::GetAtt", [None])[0] if isinstance(value, dict) else None


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
        for statement in [*statements(RESOURCES), *statements(LANE_RESOURCES)]:
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
        self.assertEqual(TRAINING_JOB["RoleArn"], "${TrainingRoleArn}")
        self.assertEqual(t["EvaluateCandidate"]["Arguments"]["RoleArn"], "${EvaluationRoleArn}")
        self.assertIn("'ExecutionRoleArn': '${ModelRoleArn}'", t["CreateModel"]["Arguments"])

    def test_jobs_are_reachable_only_when_this_stack_started_them(self):
        for machine in (RESOURCES["RetrainStateMachine"]["Properties"], LANE_RESOURCES["RetrainStateMachine"]["Properties"]):
            self._jobs_are_conditioned(machine)

    def _jobs_are_conditioned(self, machine):
        for statement in statements(machine["Policies"]):
            for resource in as_list(statement.get("Resource")):
                arn = resource.get("Fn::Sub") if isinstance(resource, dict) else resource
                if isinstance(arn, str) and arn.endswith("job/*"):
                    self.assertIn("Condition", statement, statement)

    def test_service_principals_in_the_key_policy_are_conditioned(self):
        for statement in RESOURCES["Key"]["Properties"]["KeyPolicy"]["Statement"]:
            if "Service" in statement["Principal"]:
                self.assertIn("Condition", statement, statement["Sid"])


class RollbackAlarmsTest(unittest.TestCase):
    """The canary's rollback alarms, the detector's and each lane's, are the workflow's."""

    ROLLBACK = {
        "LatencyAlarmName": "EndpointLatencyAlarm",
        "Errors5xxAlarmName": "EndpointErrors5xxAlarm",
        "ModelErrorsAlarmName": "EndpointModelErrorsAlarm",
        "PredictionRangeAlarmName": "EndpointPredictionRangeAlarm",
    }

    def test_the_workflow_rolls_back_on_four_alarms_including_the_prediction_range(self):
        alarms = tasks(RETRAIN)["UpdateEndpointCanary"]["Parameters"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
        self.assertEqual({a["AlarmName"] for a in alarms}, {f"${{{k}}}" for k in self.ROLLBACK})

    def test_each_workflow_names_and_may_read_its_own_rollback_alarms(self):
        for resources in (RESOURCES, LANE_RESOURCES):
            machine = resources["RetrainStateMachine"]["Properties"]
            substitutions = machine["DefinitionSubstitutions"]
            for key, alarm in self.ROLLBACK.items():
                self.assertEqual(ref(substitutions[key]), alarm)
            read = next(s for s in statements(machine["Policies"]) if s.get("Sid") == "ReadRollbackAlarms")
            self.assertEqual({getatt(r) for r in read["Resource"]}, set(self.ROLLBACK.values()))

    def test_rollback_alarms_invoke_approval_guard_and_notify(self):
        for resources, topic in ((RESOURCES, "NotificationTopic"), (LANE_RESOURCES, "NotificationTopicArn")):
            for alarm in self.ROLLBACK.values():
                actions = resources[alarm]["Properties"]["AlarmActions"]
                self.assertEqual([getatt(actions[0]), ref(actions[1])], ["ApprovalGuardFunction", topic], alarm)

    def test_alarm_names(self):
        root = {k: alarm_name(RESOURCES[v]) for k, v in self.ROLLBACK.items()}
        lane = {k: alarm_name(LANE_RESOURCES[v]) for k, v in self.ROLLBACK.items()}
        for key, what in zip(self.ROLLBACK, ("latency-p95", "5xx", "model-errors", "prediction-range")):
            self.assertEqual(root[key], f"${{AWS::StackName}}-endpoint-{what}")
            self.assertEqual(lane[key], f"${{ParentStackName}}-${{Profile}}-{what}")
        self.assertEqual(alarm_name(LANE_RESOURCES["DriftAlarm"]), "${ParentStackName}-${Profile}-drift-psi")
        self.assertEqual(alarm_name(LANE_RESOURCES["PerformanceAlarm"]), "${ParentStackName}-${Profile}-performance")

    def test_lane_canary_thresholds_are_seed_001s(self):
        p = {n: r["Properties"] for n, r in LANE_RESOURCES.items()}
        latency = p["EndpointLatencyAlarm"]
        self.assertEqual(ref(latency["Threshold"]), "LatencyP95ThresholdMicros")
        self.assertEqual(LANE["Parameters"]["LatencyP95ThresholdMicros"]["Default"], 200000)  # 200 ms
        self.assertEqual(TEMPLATE["Parameters"]["TabularLatencyP95ThresholdMicros"]["Default"], 200000)
        self.assertEqual(
            (latency["ExtendedStatistic"], latency["Period"], latency["EvaluationPeriods"], latency["DatapointsToAlarm"], latency["TreatMissingData"]),
            ("p95", 60, 5, 3, "notBreaching"),
        )
        for name, metric in (("EndpointErrors5xxAlarm", "Invocation5XXErrors"), ("EndpointModelErrorsAlarm", "InvocationModelErrors")):
            a = p[name]
            self.assertEqual(
                (a["MetricName"], a["Statistic"], a["Threshold"], a["ComparisonOperator"], a["Period"], a["EvaluationPeriods"], a["DatapointsToAlarm"]),
                (metric, "Sum", 1, "GreaterThanOrEqualToThreshold", 60, 3, 2),
            )
        for name in ("EndpointLatencyAlarm", "EndpointErrors5xxAlarm", "EndpointModelErrorsAlarm"):
            dims = {d["Name"]: d["Value"] for d in p[name]["Dimensions"]}
            self.assertEqual(p[name]["Namespace"], "AWS/SageMaker")
            self.assertEqual((ref(dims["EndpointName"]), ref(dims["VariantName"])), ("Profile", "EndpointVariantName"))


class PredictionRangeTest(unittest.TestCase):
    """Invocation lines -> OutOfRangeShare by EndpointName -> the prediction-range rollback alarm."""

    def check(self, resources, parameters, endpoint):
        filters = [r for r in resources.values() if r.get("Type") == "AWS::Logs::MetricFilter"]
        self.assertEqual(len(filters), 1)
        f = filters[0]["Properties"]
        self.assertEqual(ref(f["LogGroupName"]), "EndpointLogGroup")
        self.assertEqual(
            resources["EndpointLogGroup"]["Properties"]["LogGroupName"]["Fn::Sub"], f"/aws/sagemaker/Endpoints/${{{endpoint}}}"
        )
        self.assertEqual(f["FilterPattern"], '{ $.event = "invocation" }')
        (t,) = f["MetricTransformations"]
        self.assertEqual(
            (t["MetricNamespace"], t["MetricName"], t["MetricValue"], t["Unit"], t["Dimensions"]),
            ("DamagePricing/Endpoints", "OutOfRangeShare", "$.out_of_range_share", "None", [{"Key": "EndpointName", "Value": "$.endpoint"}]),
        )
        a = resources["EndpointPredictionRangeAlarm"]["Properties"]
        self.assertEqual((a["Namespace"], a["MetricName"], a["Statistic"]), ("DamagePricing/Endpoints", "OutOfRangeShare", "Average"))
        self.assertEqual([(d["Name"], ref(d["Value"])) for d in a["Dimensions"]], [("EndpointName", endpoint)])
        self.assertEqual(
            (a["Period"], a["EvaluationPeriods"], a["DatapointsToAlarm"], a["ComparisonOperator"], a["TreatMissingData"]),
            (60, 3, 2, "GreaterThanThreshold", "notBreaching"),
        )
        self.assertEqual(ref(a["Threshold"]), "CanaryOutOfRangeShare")
        share = parameters["CanaryOutOfRangeShare"]
        self.assertEqual(share["Default"], 0.05)
        self.assertIn("0.10 / EndpointInstanceCount", share["Description"])

    def test_detector(self):
        self.check(RESOURCES, TEMPLATE["Parameters"], "EndpointName")
        fleet = TEMPLATE["Parameters"]["EndpointInstanceCount"]["Default"]
        # Seed 001's 10 % of the canary's predictions, as a share of the whole fleet's.
        self.assertAlmostEqual(TEMPLATE["Parameters"]["CanaryOutOfRangeShare"]["Default"], 0.10 / fleet)

    def test_lane(self):
        self.check(LANE_RESOURCES, LANE["Parameters"], "Profile")
        fleet = TEMPLATE["Parameters"]["TabularEndpointInstanceCount"]["Default"]
        self.assertAlmostEqual(TEMPLATE["Parameters"]["TabularCanaryOutOfRangeShare"]["Default"], 0.10 / fleet)
        for application in applications().values():
            self.assertEqual(ref(application["Properties"]["Parameters"]["CanaryOutOfRangeShare"]), "TabularCanaryOutOfRangeShare")

    def test_the_detectors_drift_alarm_is_the_detectors(self):
        expression = RESOURCES["DriftAlarm"]["Properties"]["Metrics"][0]["Expression"]
        self.assertEqual(
            expression,
            """SELECT MAX(PSI) FROM SCHEMA("DamagePricing/Drift", Feature, ModelProfile, ModelVersion) WHERE ModelProfile = 'damage-detector'""",
        )


class TabularLaneTest(unittest.TestCase):
    def test_one_lane_per_tabular_profile_and_only_when_listed(self):
        lanes = applications()
        self.assertEqual(set(lanes), set(TABULAR))
        pattern = TEMPLATE["Parameters"]["TabularProfiles"]["AllowedPattern"]
        self.assertEqual(TEMPLATE["Parameters"]["TabularProfiles"]["Default"], "")
        for value in ("", "battery-soh-regressor", "failure-classifier,battery-soh-regressor"):
            self.assertRegex(value, pattern)
        for value in ("battery", "battery-soh-regressor, failure-classifier", "damage-detector", ","):
            self.assertNotRegex(value, pattern)
        conditions = TEMPLATE["Conditions"]
        for listed in ("", "battery-soh-regressor", "failure-classifier", "battery-soh-regressor,failure-classifier", "failure-classifier,battery-soh-regressor"):
            for profile, lane in lanes.items():
                deployed = evaluate(conditions[lane["Condition"]], {"TabularProfiles": listed}, conditions)
                self.assertEqual(deployed, profile in listed.split(","), (listed, profile))

    def test_a_listed_lane_needs_its_images(self):
        (rule,) = TEMPLATE["Rules"].values()
        self.assertEqual(evaluate(rule["RuleCondition"], {"TabularProfiles": ""}), False)
        self.assertEqual(evaluate(rule["RuleCondition"], {"TabularProfiles": "failure-classifier"}), True)
        asserted = {a["Assert"]["Fn::Not"][0]["Fn::Equals"][0]["Ref"] for a in rule["Assertions"]}
        self.assertEqual(asserted, {"TabularTrainingImage", "TabularInferenceImage"})
        for image in asserted:
            self.assertEqual(TEMPLATE["Parameters"][image]["Default"], "")
        for lane in applications().values():
            given = lane["Properties"]["Parameters"]
            self.assertEqual(
                (ref(given["TrainingImage"]), ref(given["EvaluationImage"]), ref(given["InferenceImage"])),
                ("TabularTrainingImage", "EvaluationImage", "TabularInferenceImage"),
            )

    def test_lane_parameters_are_the_profiles(self):
        ops = {">": "GreaterThanThreshold", "<": "LessThanThreshold"}
        for profile, lane in applications().items():
            given = lane["Properties"]["Parameters"]
            performance = PROFILES[profile]["drift"]["performance"]
            self.assertEqual(given["PerformanceMetric"], performance["metric"])
            self.assertEqual(given["PerformanceComparison"], ops[performance["retrain_when"]["op"]])
            self.assertEqual(float(given["PerformanceThreshold"]), performance["retrain_when"]["threshold"])
            self.assertEqual(float(given["DriftPsiThreshold"]), PROFILES[profile]["drift"]["psi"]["retrain"])
            family = "".join(w.capitalize() for w in profile.split("-"))
            prefix = re.search(r"fn version_prefix.*?Self::%s => \"([^\"]+)\"" % family, FAMILY_RS, re.S).group(1)
            self.assertEqual(given["ModelVersionPrefix"], prefix)
            self.assertEqual(ref(given["ParentStackName"]), "AWS::StackName")

    def test_seed_thresholds(self):
        lanes = {p: l["Properties"]["Parameters"] for p, l in applications().items()}
        battery, failure = lanes["battery-soh-regressor"], lanes["failure-classifier"]
        # Seed 001: MAE above 0.03 for an hour, PSI above 0.25 for 30 minutes.
        self.assertEqual((battery["PerformanceMetric"], battery["PerformanceComparison"], battery["PerformanceThreshold"]), ("mae", "GreaterThanThreshold", "0.03"))
        self.assertEqual((battery["PerformancePeriod"], battery["DriftPsiThreshold"]), ("3600", "0.25"))
        # Seed 002: AUC below 0.75.
        self.assertEqual((failure["PerformanceMetric"], failure["PerformanceComparison"], failure["PerformanceThreshold"]), ("auc", "LessThanThreshold", "0.75"))
        self.assertEqual(LANE["Parameters"]["DriftPsiThreshold"]["Default"], 0.25)

    def test_drift_alert(self):
        a = LANE_RESOURCES["DriftAlarm"]["Properties"]
        (query,) = a["Metrics"]
        self.assertEqual(
            query["Expression"]["Fn::Sub"],
            """SELECT MAX(PSI) FROM SCHEMA("DamagePricing/Drift", Feature, ModelProfile, ModelVersion) WHERE ModelProfile = '${Profile}'""",
        )
        self.assertEqual((query["Period"], a["EvaluationPeriods"], a["ComparisonOperator"]), (1800, 1, "GreaterThanThreshold"))
        self.assertEqual(ref(a["Threshold"]), "DriftPsiThreshold")
        self.assertEqual([getatt(a["AlarmActions"][0]), ref(a["AlarmActions"][1])], ["DriftCheckFunction", "NotificationTopicArn"])

    def test_performance_alert_notifies_only(self):
        a = LANE_RESOURCES["PerformanceAlarm"]["Properties"]
        (query,) = a["Metrics"]
        text, values = query["Expression"]["Fn::Sub"]
        self.assertEqual(
            text,
            """SELECT ${Aggregate}(Performance) FROM SCHEMA("DamagePricing/Drift", Feature, ModelProfile, ModelVersion) WHERE ModelProfile = '${Profile}' AND Feature = '${PerformanceMetric}'""",
        )
        self.assertEqual(values["Aggregate"]["Fn::If"], ["PerformanceIsLowerBound", "MIN", "MAX"])
        self.assertEqual(evaluate(LANE["Conditions"]["PerformanceIsLowerBound"], {"PerformanceComparison": "LessThanThreshold"}), True)
        self.assertEqual(ref(query["Period"]), "PerformancePeriod")
        self.assertEqual(LANE["Parameters"]["PerformancePeriod"]["Default"], 3600)
        self.assertEqual((ref(a["Threshold"]), ref(a["ComparisonOperator"])), ("PerformanceThreshold", "PerformanceComparison"))
        self.assertEqual([ref(x) for x in a["AlarmActions"]], ["NotificationTopicArn"])

    def test_every_alarm_that_invokes_a_lane_function_may(self):
        permissions = {
            (ref(p["Properties"]["FunctionName"]), getatt(p["Properties"]["SourceArn"]))
            for p in lane_of_type("AWS::Lambda::Permission").values()
            if p["Properties"]["Principal"] == "lambda.alarms.cloudwatch.amazonaws.com"
        }
        invoked = {
            (getatt(action), name)
            for name, alarm in lane_of_type("AWS::CloudWatch::Alarm").items()
            for action in alarm["Properties"]["AlarmActions"]
            if getatt(action)
        }
        self.assertEqual(len(invoked), 5)
        self.assertEqual(permissions, invoked)

    def test_schedules(self):
        self.assertEqual(LANE["Parameters"]["RetrainScheduleExpression"]["Default"], "cron(0 2 ? * SUN *)")  # Sunday 02:00 UTC
        self.assertEqual(TEMPLATE["Parameters"]["RetrainScheduleExpression"]["Default"], "cron(0 2 ? * SUN *)")
        self.assertEqual(LANE["Parameters"]["DriftScheduleExpression"]["Default"], "cron(0 4 * * ? *)")  # daily
        schedules = {n: r["Properties"] for n, r in lane_of_type("AWS::Scheduler::Schedule").items()}
        self.assertEqual(ref(schedules["RetrainSchedule"]["ScheduleExpression"]), "RetrainScheduleExpression")
        self.assertEqual(json.loads(schedules["RetrainSchedule"]["Target"]["Input"]), {"trigger": "retrain", "source": "schedule"})
        self.assertEqual(ref(schedules["DriftCheckSchedule"]["ScheduleExpression"]), "DriftScheduleExpression")
        self.assertEqual(json.loads(schedules["DriftCheckSchedule"]["Target"]["Input"]), {"trigger": "schedule"})
        for schedule in schedules.values():
            self.assertEqual(getatt(schedule["Target"]["Arn"]), "DriftCheckFunction")
            self.assertEqual(schedule["ScheduleExpressionTimezone"], "UTC")
        for lane in applications().values():
            given = lane["Properties"]["Parameters"]
            self.assertEqual(ref(given["RetrainScheduleExpression"]), "RetrainScheduleExpression")

    def test_the_registry_group_is_kept(self):
        for resources in (RESOURCES, LANE_RESOURCES):
            group = resources["ModelPackageGroup"]
            self.assertEqual((group["DeletionPolicy"], group["UpdateReplacePolicy"]), ("Retain", "Retain"))
        self.assertEqual(ref(LANE_RESOURCES["ModelPackageGroup"]["Properties"]["ModelPackageGroupName"]), "Profile")

    def test_each_lane_role_pulls_only_its_own_image(self):
        expected = {"TrainingRole": "TrainingImage", "EvaluationRole": "EvaluationImage", "ModelRole": "InferenceImage"}
        pulls = {}
        for name, role in lane_of_type("AWS::IAM::Role").items():
            for statement in statements(role):
                if "ecr:BatchGetImage" in as_list(statement["Action"]):
                    images = set(re.findall(r'"Ref": "([A-Za-z]+Image)"', json.dumps(statement["Resource"])))
                    self.assertNotIn("*", json.dumps(statement["Resource"]))
                    pulls.setdefault(name, set()).update(images)
        self.assertEqual(pulls, {role: {image} for role, image in expected.items()})
        substitutions = LANE_RESOURCES["RetrainStateMachine"]["Properties"]["DefinitionSubstitutions"]
        for key in ("TrainingRoleArn", "EvaluationRoleArn", "ModelRoleArn"):
            self.assertEqual(getatt(substitutions[key]), key.removesuffix("Arn"))

    def test_names_follow_the_profile_and_fit(self):
        machine = LANE_RESOURCES["RetrainStateMachine"]["Properties"]
        self.assertEqual(machine["Name"]["Fn::Sub"], "${ParentStackName}-retrain-${Profile}")
        env = LANE["Globals"]["Function"]["Environment"]["Variables"]
        self.assertTrue(env["RETRAIN_STATE_MACHINE_ARN"]["Fn::Sub"].endswith(":stateMachine:${ParentStackName}-retrain-${Profile}"))
        for key in ("MODEL_PROFILE", "MODEL_PACKAGE_GROUP", "ENDPOINT_NAME"):
            self.assertEqual(ref(env[key]), "Profile")
        self.assertEqual(env["LOG_FORMAT"], "json")
        self.assertEqual((ref(env["DATA_BUCKET"]), ref(env["UPLOADS_BUCKET"])), ("DataBucketName", "UploadsBucketName"))
        self.assertEqual(ref(machine["DefinitionSubstitutions"]["EndpointName"]), "Profile")
        # Step Functions names are at most 80 characters.
        longest = max(len(p) for p in LANE["Parameters"]["Profile"]["AllowedValues"])
        self.assertLessEqual(LANE["Parameters"]["ParentStackName"]["MaxLength"] + len("-retrain-") + longest, 80)

    def test_drift_check_reads_and_writes_the_lanes_own_prefixes(self):
        policy = json.dumps(LANE_RESOURCES["DriftCheckFunction"]["Properties"]["Policies"])
        self.assertIn("/tabular/${Profile}/*", policy)
        self.assertIn("/reports/drift/${Profile}/*", policy)
        self.assertNotIn("/features/*", policy)
        self.assertNotIn("/predictions/*", policy)

    def test_lane_log_groups_have_retention_and_key_and_the_key_allows_them(self):
        for group in lane_of_type("AWS::Logs::LogGroup").values():
            self.assertEqual(ref(group["Properties"]["RetentionInDays"]), "LogRetentionDays")
            self.assertEqual(ref(group["Properties"]["KmsKeyId"]), "KmsKeyArn")
        key_policy = json.dumps(RESOURCES["Key"]["Properties"]["KeyPolicy"])
        for profile in TABULAR:
            self.assertIn(f"log-group:/aws/sagemaker/Endpoints/{profile}", key_policy)


class DataCaptureTest(unittest.TestCase):
    """A tabular lane's endpoint captures its requests and answers for drift-check; the detector's does not."""

    CAPTURE = "s3://${DataBucketName}/tabular/${Profile}/capture"

    def test_the_workflow_captures_only_where_a_capture_prefix_is_given(self):
        capture = RETRAIN["States"]["PlaceJobs"]["Assign"]["endpointCapture"]
        self.assertTrue(capture.startswith("{% '${DataCaptureUri}' = '' ? {} : {'DataCaptureConfig': "), capture)
        for part in (
            "'EnableCapture': true",
            "'InitialSamplingPercentage': $number('${DataCapturePercentage}')",
            "'DestinationS3Uri': '${DataCaptureUri}'",
            "'KmsKeyId': '${KmsKeyArn}'",
            "{'CaptureMode': 'Input'}, {'CaptureMode': 'Output'}",
        ):
            self.assertIn(part, capture)
        self.assertTrue(tasks(RETRAIN)["CreateEndpointConfig"]["Arguments"].endswith(", $endpointCapture]) %}"))

    def test_the_lane_captures_under_its_own_prefix_and_its_model_role_may_write_there(self):
        substitutions = LANE_RESOURCES["RetrainStateMachine"]["Properties"]["DefinitionSubstitutions"]
        self.assertEqual(substitutions["DataCaptureUri"], {"Fn::Sub": self.CAPTURE})
        self.assertEqual(ref(substitutions["DataCapturePercentage"]), "DataCapturePercentage")
        percentage = LANE["Parameters"]["DataCapturePercentage"]
        self.assertEqual((percentage["Default"], percentage["MinValue"], percentage["MaxValue"]), (100, 0, 100))
        role = LANE_RESOURCES["ModelRole"]
        (write,) = [s for s in statements(role) if s.get("Sid") == "WriteDataCapture"]
        self.assertEqual(as_list(write["Action"]), ["s3:PutObject"])
        arn = "arn:${AWS::Partition}:s3:::" + self.CAPTURE.removeprefix("s3://") + "/*"
        self.assertEqual(write["Resource"], {"Fn::Sub": arn})
        # Captures are encrypted with the stack's key (KmsKeyId), with the model's execution role.
        keys = [s for s in statements(role) if ref(s.get("Resource")) == "KmsKeyArn"]
        actions = {a for s in keys for a in as_list(s["Action"])}
        self.assertLessEqual({"kms:GenerateDataKey", "kms:Encrypt"}, actions)
        self.assertEqual(ref(substitutions["KmsKeyArn"]), "KmsKeyArn")

    def test_drift_check_finds_the_captures_of_the_lanes_variant(self):
        env = LANE["Globals"]["Function"]["Environment"]["Variables"]
        substitutions = LANE_RESOURCES["RetrainStateMachine"]["Properties"]["DefinitionSubstitutions"]
        self.assertEqual(ref(env["ENDPOINT_VARIANT_NAME"]), ref(substitutions["EndpointVariantName"]))
        self.assertEqual(ref(env["ENDPOINT_NAME"]), ref(substitutions["EndpointName"]))
        policy = json.dumps(LANE_RESOURCES["DriftCheckFunction"]["Properties"]["Policies"])
        # tabular/${Profile}/* (read and list) covers tabular/${Profile}/capture/.
        self.assertIn('"arn:${AWS::Partition}:s3:::${DataBucketName}/tabular/${Profile}/*"', policy)
        self.assertIn('"tabular/${Profile}/*"', policy)

    def test_the_root_passes_the_share_and_the_detector_does_not_capture(self):
        self.assertEqual(TEMPLATE["Parameters"]["TabularDataCapturePercentage"]["Default"], 100)
        for lane in applications().values():
            given = lane["Properties"]["Parameters"]
            self.assertEqual(ref(given["DataCapturePercentage"]), "TabularDataCapturePercentage")
        detector = RESOURCES["RetrainStateMachine"]["Properties"]["DefinitionSubstitutions"]
        self.assertEqual((detector["DataCaptureUri"], detector["DataCapturePercentage"]), ("", "0"))
        self.assertNotIn("WriteDataCapture", json.dumps(RESOURCES["ModelRole"]))

    def test_deploy_md_documents_the_capture(self):
        for words in (
            "s3://{data bucket}/tabular/{profile}/capture/{endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl",
            "tabular/{profile}/labels/dt=YYYY-MM-DD/*.jsonl",
            "`TabularDataCapturePercentage`",
            "`WriteDataCapture`",
        ):
            self.assertIn(words, DEPLOY)


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
    # The requests as evaluated, VPC and not, are checked by crates/local/tests/mock_cases.rs.
    def test_sagemaker_containers_run_network_isolated(self):
        t = tasks(RETRAIN)
        self.assertIs(TRAINING_JOB["EnableNetworkIsolation"], True)
        self.assertIn("'EnableNetworkIsolation': true", t["EvaluateCandidate"]["Arguments"]["NetworkConfig"])
        self.assertIn("'EnableNetworkIsolation': true", t["CreateModel"]["Arguments"])

    def test_sagemaker_jobs_and_model_take_the_optional_vpc(self):
        t = tasks(RETRAIN)
        self.assertEqual(t["TuneHyperParameters"]["Arguments"]["TrainingJobDefinition"], "{% $merge([$trainingJob, $jobNetwork]) %}")
        self.assertIn("$jobNetwork", t["EvaluateCandidate"]["Arguments"]["NetworkConfig"])
        self.assertIn("$jobNetwork]) %}", t["CreateModel"]["Arguments"])
        root = RESOURCES["RetrainStateMachine"]["Properties"]["DefinitionSubstitutions"]
        self.assertEqual(root["JobsInVpc"], {"Fn::If": ["HasVpc", "true", "false"]})
        lane = LANE_RESOURCES["RetrainStateMachine"]["Properties"]["DefinitionSubstitutions"]
        self.assertEqual(lane["JobsInVpc"], {"Ref": "InVpc"})
        for substitutions in (root, lane):
            self.assertEqual(substitutions["JobSubnetIds"], {"Fn::Join": [",", {"Ref": "VpcSubnetIds"}]})
            self.assertEqual(substitutions["JobSecurityGroupIds"], {"Fn::Join": [",", {"Ref": "VpcSecurityGroupIds"}]})
        # Every SageMaker role may place network interfaces, in the stack's VPC only.
        policy = RESOURCES["SageMakerVpcAccessPolicy"]
        self.assertEqual(policy["Condition"], "HasVpc")
        creates = [s for s in statements(policy) if "ec2:CreateNetworkInterface" in as_list(s["Action"])]
        self.assertEqual(len(creates), 1)
        self.assertIn(":vpc/${VpcId}", creates[0]["Condition"]["ArnEquals"]["ec2:Vpc"]["Fn::Sub"])
        for resources, condition, arn in (
            (RESOURCES, "HasVpc", {"Ref": "SageMakerVpcAccessPolicy"}),
            (LANE_RESOURCES, "InVpcSubnets", {"Ref": "SageMakerVpcAccessPolicyArn"}),
        ):
            for role in ("TrainingRole", "EvaluationRole", "ModelRole"):
                attached = resources[role]["Properties"]["ManagedPolicyArns"]
                self.assertEqual(attached, {"Fn::If": [condition, [arn], {"Ref": "AWS::NoValue"}]}, role)
        for lane in applications().values():
            given = lane["Properties"]["Parameters"]["SageMakerVpcAccessPolicyArn"]
            self.assertEqual(given, {"Fn::If": ["HasVpc", {"Ref": "SageMakerVpcAccessPolicy"}, ""]})

    def test_functions_take_the_optional_vpc(self):
        vpc = TEMPLATE["Globals"]["Function"]["VpcConfig"]
        self.assertEqual(vpc["Fn::If"][0], "HasVpc")
        # The review console fetches the load balancer's keys from the internet: never in the VPC.
        console = TEMPLATE["Resources"]["ReviewConsoleFunction"]["Properties"]
        self.assertEqual(console["VpcConfig"], {"Ref": "AWS::NoValue"})
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

    def test_tabular_lanes_are_documented(self):
        self.assertNotIn("deploys the detector's lane only (see", DEPLOY)
        for parameter in TEMPLATE["Parameters"]:
            if parameter.startswith("Tabular"):
                self.assertIn(f"`{parameter}`", DEPLOY)
        for name in TEMPLATE["Rules"]:
            self.assertIn(f"`{name}`", DEPLOY)
        for alarm in lane_of_type("AWS::CloudWatch::Alarm").values():
            self.assertIn(alarm_name(alarm).replace("${ParentStackName}", "<stack>").replace("${Profile}", "<profile>"), DEPLOY)
        self.assertIn("`<stack>-retrain-<profile>`", DEPLOY)
        longest_stack = LANE["Parameters"]["ParentStackName"]["MaxLength"]
        for figure in ("200 ms", "0.25", "0.03", "0.75", "Sunday 02:00 UTC", f"at most {longest_stack} characters"):
            self.assertIn(figure, DEPLOY)
        self.assertIn("CAPABILITY_AUTO_EXPAND", (REPO / "infra/samconfig.toml").read_text(encoding="utf-8"))


if __name__ == "__main__":
    unittest.main()
