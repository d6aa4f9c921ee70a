"""Unit tests of check_wiring.py: each check must catch the mistake it exists for."""

import json
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_wiring  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    CodeUri: ..
    Handler: bootstrap
Resources:
  AlphaFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: alpha
    Properties:
      Policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: [s3:GetObject]
              Resource: !Sub "${Bucket.Arn}/*"
  Topic:
    Type: AWS::SNS::Topic
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: ../statemachines/flow.asl.json
      DefinitionSubstitutions:
        AlphaFunctionArn: !GetAtt AlphaFunction.Arn
        TopicArn: !Ref Topic
"""

ASL = {
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${AlphaFunctionArn}", "Payload.$": "$"},
            "Retry": [
                {"ErrorEquals": ["Lambda.TooManyRequestsException"], "BackoffRate": 2.0, "JitterStrategy": "FULL"}
            ],
            "Next": "Tell",
        },
        "Tell": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": "${TopicArn}", "Message.$": "$"},
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "JitterStrategy": "FULL"}],
            "End": True,
        },
    },
}


class Fixture:
    """A minimal repository: one function crate, one state machine, one template."""

    def __init__(self, root: Path):
        self.root = root
        self.write("Cargo.toml", '[workspace]\nmembers = ["functions/alpha"]\n')
        self.write("functions/alpha/Cargo.toml", '[package]\nname = "alpha"\n')
        self.write("functions/alpha/src/main.rs", "fn main() {}\n")
        self.write("statemachines/flow.asl.json", json.dumps(ASL))
        self.write("infra/template.yaml", TEMPLATE)

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def edit(self, path: str, old: str, new: str) -> None:
        target = self.root / path
        text = target.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        target.write_text(text.replace(old, new), encoding="utf-8")

    def problems(self) -> list[str]:
        return check_wiring.check(self.root)


class WiringTest(unittest.TestCase):
    def setUp(self):
        self._dir = tempfile.TemporaryDirectory()
        self.repo = Fixture(Path(self._dir.name))

    def tearDown(self):
        self._dir.cleanup()

    def assertProblem(self, fragment: str):
        problems = self.repo.problems()
        self.assertTrue(any(fragment in p for p in problems), f"no problem with {fragment!r} in {problems}")

    def test_consistent_repository_passes(self):
        self.assertEqual(self.repo.problems(), [])

    def test_placeholder_without_substitution(self):
        self.repo.edit("infra/template.yaml", "        TopicArn: !Ref Topic\n", "")
        self.assertProblem("uses ${TopicArn}, which DefinitionSubstitutions does not define")

    def test_substitution_never_used(self):
        self.repo.edit("infra/template.yaml", "        TopicArn: !Ref Topic\n", "        TopicArn: !Ref Topic\n        Spare: x\n")
        self.assertProblem("defines Spare, which ../statemachines/flow.asl.json never uses")

    def test_function_arn_must_name_a_function(self):
        self.repo.edit("infra/template.yaml", "!GetAtt AlphaFunction.Arn", "!GetAtt Topic.Arn")
        self.assertProblem("substitution AlphaFunctionArn")

    def test_lambda_task_must_use_a_function_substitution(self):
        asl = json.loads(json.dumps(ASL))
        asl["States"]["Call"]["Parameters"]["FunctionName"] = "arn:aws:lambda:eu-west-1:123456789012:function:alpha"
        self.repo.write("statemachines/flow.asl.json", json.dumps(asl))
        self.assertProblem("state Call: Parameters.FunctionName must be a ${...FunctionArn} substitution")

    def test_binary_must_name_a_package(self):
        self.repo.edit("infra/template.yaml", "Binary: alpha", "Binary: beta")
        self.assertProblem("Binary 'beta' names no readable package")

    def test_package_must_build_the_binary(self):
        (self.repo.root / "functions/alpha/src/main.rs").unlink()
        self.assertProblem("builds no binary named 'alpha'")

    def test_declared_bin_path_must_exist(self):
        self.repo.write("functions/alpha/Cargo.toml", '[package]\nname = "alpha"\n[[bin]]\nname = "alpha"\npath = "src/gone.rs"\n')
        self.assertProblem("builds no binary named 'alpha'")

    def test_every_function_package_is_deployed(self):
        self.repo.write("functions/gamma/Cargo.toml", '[package]\nname = "gamma"\n')
        self.assertProblem("functions/gamma is deployed by no function")

    def test_code_uri_must_be_the_workspace_root(self):
        self.repo.edit("infra/template.yaml", "CodeUri: ..", "CodeUri: ../functions/alpha")
        self.assertProblem("CodeUri must be the Cargo workspace root")

    def test_every_task_retries_throttling(self):
        asl = json.loads(json.dumps(ASL))
        del asl["States"]["Tell"]["Retry"]
        self.repo.write("statemachines/flow.asl.json", json.dumps(asl))
        self.assertProblem("state Tell: no Retry covers SNS.ThrottledException")

    def test_retry_must_name_the_integrations_throttling_error(self):
        asl = json.loads(json.dumps(ASL))
        asl["States"]["Call"]["Retry"][0]["ErrorEquals"] = ["RetryableThrottled"]
        self.repo.write("statemachines/flow.asl.json", json.dumps(asl))
        self.assertProblem("state Call: no Retry covers Lambda.TooManyRequestsException")

    def test_retry_needs_full_jitter_and_backoff(self):
        for change in ({"JitterStrategy": "NONE"}, {"BackoffRate": 1.0}):
            asl = json.loads(json.dumps(ASL))
            asl["States"]["Call"]["Retry"][0].update(change)
            self.repo.write("statemachines/flow.asl.json", json.dumps(asl))
            self.assertProblem("state Call: no Retry covers")

    def test_sagemaker_integrations_name_their_own_errors(self):
        asl = json.loads(json.dumps(ASL))
        asl["States"]["Tell"]["Resource"] = "arn:aws:states:::sagemaker:createModel"
        asl["States"]["Tell"]["Retry"][0]["ErrorEquals"] = ["SageMaker.SageMakerException"]
        self.repo.write("statemachines/flow.asl.json", json.dumps(asl))
        self.assertProblem("state Tell: no Retry covers SageMaker.AmazonSageMakerException")
        asl["States"]["Tell"]["Resource"] = "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint"
        self.repo.write("statemachines/flow.asl.json", json.dumps(asl))
        self.assertEqual(self.repo.problems(), [])

    def test_every_asl_file_is_used(self):
        self.repo.write("statemachines/orphan.asl.json", json.dumps(ASL))
        self.assertProblem("statemachines/orphan.asl.json is used by no state machine")


LANE_APPLICATION = """\
  Lane:
    Type: AWS::Serverless::Application
    Properties:
      Location: lane.yaml
      Parameters:
        AlphaFunctionArn: !GetAtt AlphaFunction.Arn
        TopicArn: !Ref Topic
"""

LANE = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  AlphaFunctionArn:
    Type: String
  TopicArn:
    Type: String
  Spare:
    Type: String
    Default: x
Globals:
  Function:
    CodeUri: ..
Resources:
  BetaFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: alpha
  LaneFlow:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: ../statemachines/lane.asl.json
      DefinitionSubstitutions:
        AlphaFunctionArn: !Ref AlphaFunctionArn
        TopicArn: !Ref TopicArn
"""


class NestedApplicationTest(unittest.TestCase):
    """A nested application with a local template (the tabular lanes) is checked like the root."""

    def setUp(self):
        self._dir = tempfile.TemporaryDirectory()
        self.repo = Fixture(Path(self._dir.name))
        self.repo.edit("infra/template.yaml", "  Topic:\n", LANE_APPLICATION + "  Topic:\n")
        self.repo.write("infra/lane.yaml", LANE)
        # Used by the nested template only.
        self.repo.write("statemachines/lane.asl.json", json.dumps(ASL))

    def tearDown(self):
        self._dir.cleanup()

    def assertProblem(self, fragment: str):
        problems = self.repo.problems()
        self.assertTrue(any(fragment in p for p in problems), f"no problem with {fragment!r} in {problems}")

    def test_consistent_nested_application_passes(self):
        self.assertEqual(self.repo.problems(), [])

    def test_nested_placeholder_without_substitution(self):
        self.repo.edit("infra/lane.yaml", "        TopicArn: !Ref TopicArn\n", "")
        self.assertProblem("Lane (infra/lane.yaml): LaneFlow: ../statemachines/lane.asl.json uses ${TopicArn}")

    def test_nested_substitution_never_used(self):
        self.repo.edit("infra/lane.yaml", "        TopicArn: !Ref TopicArn\n", "        TopicArn: !Ref TopicArn\n        Spare: !Ref Spare\n")
        self.assertProblem("Lane (infra/lane.yaml): LaneFlow: DefinitionSubstitutions defines Spare")

    def test_nested_function_arn_may_name_a_nested_function(self):
        self.repo.edit("infra/lane.yaml", "AlphaFunctionArn: !Ref AlphaFunctionArn", "AlphaFunctionArn: !GetAtt BetaFunction.Arn")
        self.assertEqual(self.repo.problems(), [])

    def test_nested_function_arn_parameter_must_be_set_to_a_parent_function(self):
        self.repo.edit("infra/template.yaml", "AlphaFunctionArn: !GetAtt AlphaFunction.Arn", "AlphaFunctionArn: !Ref Topic")
        self.assertProblem("substitution AlphaFunctionArn = '!Ref AlphaFunctionArn' is a parameter that the application sets to '!Ref Topic'")

    def test_nested_function_arn_must_be_a_function_or_a_parameter(self):
        self.repo.edit("infra/lane.yaml", "AlphaFunctionArn: !Ref AlphaFunctionArn", "AlphaFunctionArn: arn:aws:lambda:eu-west-1:123456789012:function:alpha")
        self.assertProblem("Lane (infra/lane.yaml): LaneFlow: substitution AlphaFunctionArn")

    def test_application_sets_every_required_parameter(self):
        self.repo.edit("infra/template.yaml", "        TopicArn: !Ref Topic\n  Topic:", "  Topic:")
        self.assertProblem("Lane: does not set parameter TopicArn, which infra/lane.yaml requires")

    def test_application_sets_only_declared_parameters(self):
        self.repo.edit("infra/template.yaml", "        AlphaFunctionArn: !GetAtt AlphaFunction.Arn\n", "        AlphaFunctionArn: !GetAtt AlphaFunction.Arn\n        Extra: x\n")
        self.assertProblem("Lane: sets parameter Extra, which infra/lane.yaml does not declare")

    def test_nested_template_must_be_readable(self):
        self.repo.edit("infra/template.yaml", "Location: lane.yaml", "Location: gone.yaml")
        self.assertProblem("Lane: cannot read the nested template gone.yaml")

    def test_nested_functions_are_checked(self):
        self.repo.edit("infra/lane.yaml", "Binary: alpha", "Binary: beta")
        self.assertProblem("infra/lane.yaml: BetaFunction: Binary 'beta' names no readable package")

    def test_nested_code_uri_is_relative_to_the_nested_template(self):
        self.repo.edit("infra/lane.yaml", "CodeUri: ..", "CodeUri: .")
        self.assertProblem("infra/lane.yaml: BetaFunction: CodeUri must be the Cargo workspace root")

    def test_nested_retries_are_checked(self):
        asl = json.loads(json.dumps(ASL))
        del asl["States"]["Tell"]["Retry"]
        self.repo.write("statemachines/lane.asl.json", json.dumps(asl))
        self.assertProblem("lane.asl.json: state Tell: no Retry covers SNS.ThrottledException")

    def test_an_application_from_the_serverless_repository_is_not_read(self):
        self.repo.edit("infra/template.yaml", "      Location: lane.yaml\n", "      Location:\n        ApplicationId: arn:aws:serverlessrepo:us-east-1:123456789012:applications/x\n        SemanticVersion: 1.0.0\n")
        self.assertProblem("statemachines/lane.asl.json is used by no state machine")


class YamlReaderTest(unittest.TestCase):
    def test_block_structure_and_raw_scalars(self):
        doc = check_wiring.load_yaml(textwrap.dedent("""\
            # comment
            A:
              B: !Sub "x:${Y}"   
              List:
                - plain
                - Key: one
                  Other: two
                - { Flow: map }
              Block: |
                line one
                  line two
              After: [a, b]
            Seq:
            - at the parent's indentation
            """))
        self.assertEqual(doc["A"]["B"], '!Sub "x:${Y}"')
        self.assertEqual(doc["A"]["List"], ["plain", {"Key": "one", "Other": "two"}, "{ Flow: map }"])
        self.assertEqual(doc["A"]["Block"], "|")
        self.assertEqual(doc["A"]["After"], "[a, b]")
        self.assertEqual(doc["Seq"], ["at the parent's indentation"])

    def test_broken_indentation_is_refused(self):
        with self.assertRaises(check_wiring.YamlError):
            check_wiring.load_yaml("A:\n    B: 1\n  C: 2\n")


class RepositoryTest(unittest.TestCase):
    """The real template and ASL files agree (the function crates are checked by the script)."""

    def test_state_machines_of_this_repository(self):
        template = check_wiring.load_yaml((REPO / "infra/template.yaml").read_text(encoding="utf-8"))
        problems: list[str] = []
        checked = check_wiring.check_state_machines(REPO, template["Resources"], problems)
        self.assertEqual(problems, [])
        self.assertEqual(checked, 2)

    def test_tabular_lanes_of_this_repository(self):
        template = check_wiring.load_yaml((REPO / "infra/template.yaml").read_text(encoding="utf-8"))
        problems: list[str] = []
        used: set[Path] = set()
        checked = check_wiring.check_applications(REPO, template, problems, used_files=used, deployed=set())
        self.assertEqual(problems, [])
        self.assertEqual(checked, 2)
        self.assertIn((REPO / "statemachines/retrain.asl.json").resolve(), used)


if __name__ == "__main__":
    unittest.main()
