//! The task runner the local state machines use: Lambda tasks call the project's handlers in
//! process, SNS and EventBridge go to [`Messaging`], SageMaker to a [`ServiceIntegration`].
//! A resource it cannot run is refused when a definition is loaded ([`check_resources`]), not
//! when an execution reaches it. These local stand-ins can be switched off
//! ([`LocalRunner::without_stand_ins`]): then every Task state an execution reaches must be
//! answered by its test case's mocks, as on any other interpreter.

use std::collections::BTreeMap;
use std::sync::Arc;

use asl::{
    Definition, IntegrationPattern, TaskFailure, TaskRequest, TaskRunner, is_lambda_function_arn,
};
use async_trait::async_trait;
use serde_json::{Value, json};

use crate::services::Messaging;

/// A function's failure as Lambda reports it: the stable error name and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    pub error_type: String,
    pub message: String,
}

impl FunctionError {
    /// From a function's named error, exactly as its Lambda binary would report it.
    pub fn from_named<E: platform::NamedError + 'static>(err: &E) -> Self {
        let diagnostic = platform::error::diagnostic(err);
        Self {
            error_type: diagnostic.error_type,
            message: diagnostic.error_message,
        }
    }

    /// Our own bug (an output that does not serialise).
    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self {
            error_type: platform::ErrorName::Internal.to_string(),
            message: err.to_string(),
        }
    }
}

/// A Lambda function run in process: the same handler its binary runs.
#[async_trait]
pub trait LocalFunction: Send + Sync {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError>;
}

/// A service reached by a `arn:aws:states:::<service>:<action>` or `aws-sdk:<service>:<action>`
/// resource, other than Lambda, SNS and EventBridge.
#[async_trait]
pub trait ServiceIntegration: Send + Sync {
    /// The service name as it appears in resources (`sagemaker`).
    fn service(&self) -> &'static str;
    /// Whether `action` (e.g. `createModel`) is implemented.
    fn supports(&self, action: &str) -> bool;
    async fn call(&self, action: &str, parameters: &Value) -> Result<Value, TaskFailure>;
}

/// What a Task resource asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource<'a> {
    pub service: &'a str,
    pub action: &'a str,
}

/// Splits `arn:aws:states:::lambda:invoke.waitForTaskToken` into service `lambda` and action
/// `invoke`; `arn:aws:states:::aws-sdk:sagemaker:describeEndpoint` into `sagemaker` and
/// `describeEndpoint`.
pub fn parse_resource(resource: &str) -> Option<Resource<'_>> {
    let (base, _) = IntegrationPattern::split(resource);
    let rest = base.strip_prefix("arn:aws:states:::")?;
    let rest = rest.strip_prefix("aws-sdk:").unwrap_or(rest);
    let (service, action) = rest.split_once(':')?;
    Some(Resource { service, action })
}

/// Runs Task states locally.
pub struct LocalRunner {
    functions: BTreeMap<String, Arc<dyn LocalFunction>>,
    messaging: Arc<Messaging>,
    services: Vec<Arc<dyn ServiceIntegration>>,
    stand_ins: bool,
}

impl LocalRunner {
    pub fn new(messaging: Arc<Messaging>) -> Self {
        Self {
            functions: BTreeMap::new(),
            messaging,
            services: Vec::new(),
            stand_ins: true,
        }
    }

    /// Answers no Task state itself: a state that the test case does not mock fails the
    /// execution with `States.Runtime`, naming the state.
    pub fn without_stand_ins(mut self) -> Self {
        self.stand_ins = false;
        self
    }

    /// Registers a function under its name (the last part of its ARN).
    pub fn with_function(mut self, name: &str, function: Arc<dyn LocalFunction>) -> Self {
        self.functions.insert(name.to_string(), function);
        self
    }

    pub fn with_service(mut self, service: Arc<dyn ServiceIntegration>) -> Self {
        self.services.push(service);
        self
    }

    /// Whether a Task resource can run here; why when it cannot. Without stand-ins every state
    /// may load: whether its test case mocks it shows when an execution reaches it.
    pub fn check(&self, resource: &str, function_name: Option<&str>) -> Result<(), NoStandIn> {
        if !self.stand_ins {
            return Ok(());
        }
        let registered = |name: &str| match self.functions.contains_key(function_short_name(name)) {
            true => Ok(()),
            false => Err(NoStandIn::Function(function_short_name(name).to_string())),
        };
        if is_lambda_function_arn(resource) {
            return registered(resource);
        }
        let Some(Resource { service, action }) = parse_resource(resource) else {
            return Err(NoStandIn::UnknownResource(resource.to_string()));
        };
        match (service, action) {
            ("lambda", "invoke") => function_name.map_or(Err(NoStandIn::FunctionName), registered),
            ("sns", "publish") | ("events", "putEvents") => Ok(()),
            _ => match self.services.iter().find(|s| s.service() == service) {
                Some(s) if s.supports(action) => Ok(()),
                _ => Err(NoStandIn::Integration(format!("{service}:{action}"))),
            },
        }
    }
}

/// Why a Task resource cannot run on local stand-ins.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoStandIn {
    #[error("no local function is registered for {0:?}")]
    Function(String),
    #[error("lambda:invoke without a literal FunctionName")]
    FunctionName,
    #[error("resource {0:?} is not a service integration this runner knows")]
    UnknownResource(String),
    #[error("{0} has no local stand-in")]
    Integration(String),
}

/// A Task state a definition names that local mode cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state {state:?}, field Resource: {reason}")]
pub struct UnsupportedTask {
    pub state: String,
    pub reason: NoStandIn,
}

/// `arn:aws:lambda:region:account:function:pricing[:alias]` → `pricing`; a bare name stays.
pub fn function_short_name(name_or_arn: &str) -> &str {
    match name_or_arn.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => name_or_arn,
    }
}

fn runtime_failure(cause: impl Into<String>) -> TaskFailure {
    TaskFailure::new("States.Runtime", cause)
}

/// Invokes a local function, failing as Step Functions reports a Lambda function error: its
/// `errorType` is the error name, the cause is the Lambda error document.
async fn invoke(function: &dyn LocalFunction, payload: Value) -> Result<Value, TaskFailure> {
    function.invoke(payload).await.map_err(|e| {
        TaskFailure::new(
            e.error_type.clone(),
            json!({"errorType": e.error_type, "errorMessage": e.message}).to_string(),
        )
    })
}

#[async_trait]
impl TaskRunner for LocalRunner {
    async fn run_task(&self, request: TaskRequest) -> Result<Value, TaskFailure> {
        if !self.stand_ins {
            return Err(runtime_failure(format!(
                "state {:?} ({}) is not mocked by the test case, and local stand-ins are off \
                 (damage-pricing run --local-stand-ins answers it locally)",
                request.state, request.resource
            )));
        }
        self.call(&request.resource, &request.parameters, request.task_token)
            .await
    }
}

impl LocalRunner {
    /// The registered function a name or function ARN names.
    fn function(&self, name_or_arn: &str) -> Result<&dyn LocalFunction, TaskFailure> {
        let name = function_short_name(name_or_arn);
        self.functions
            .get(name)
            .map(AsRef::as_ref)
            .ok_or_else(|| runtime_failure(format!("no local function is registered for {name:?}")))
    }

    /// Runs one Task resource with its effective parameters.
    pub async fn call(
        &self,
        resource: &str,
        params: &Value,
        task_token: Option<String>,
    ) -> Result<Value, TaskFailure> {
        // The direct form: the effective input is the event, the function's answer the result.
        if is_lambda_function_arn(resource) {
            return invoke(self.function(resource)?, params.clone()).await;
        }
        let parsed = parse_resource(resource)
            .ok_or_else(|| runtime_failure(format!("unknown resource {resource}")))?;
        match (parsed.service, parsed.action) {
            ("lambda", "invoke") => {
                let name = params["FunctionName"]
                    .as_str()
                    .ok_or_else(|| runtime_failure("lambda:invoke needs FunctionName"))?;
                let payload = params.get("Payload").cloned().unwrap_or(Value::Null);
                let out = invoke(self.function(name)?, payload).await?;
                Ok(json!({"Payload": out, "StatusCode": 200, "ExecutedVersion": "$LATEST"}))
            }
            ("sns", "publish") => self
                .messaging
                .publish(params, task_token)
                .await
                .map(|(_, out)| out)
                .map_err(|e| TaskFailure::new("SNS.InvalidParameterException", e.to_string())),
            ("events", "putEvents") => self
                .messaging
                .put_events(params)
                .await
                .map(|(_, out)| out)
                .map_err(|e| TaskFailure::new("EventBridge.ValidationException", e.to_string())),
            (service, action) => {
                let integration = self
                    .services
                    .iter()
                    .find(|s| s.service() == service && s.supports(action))
                    .ok_or_else(|| {
                        runtime_failure(format!("{service}:{action} has no local stand-in"))
                    })?;
                integration.call(action, params).await
            }
        }
    }
}

/// Checks every Task state of a loaded definition (nested ones included) against `runner`, so
/// an unsupported integration is refused at load time with the state named; `mocked_states`
/// are answered by a test case and need no stand-in.
pub fn check_resources(
    definition: &Definition,
    runner: &LocalRunner,
    mocked_states: &[String],
) -> Result<(), UnsupportedTask> {
    for task in definition.tasks() {
        if !mocked_states.iter().any(|m| m == task.state) {
            runner
                .check(task.resource, task.function_name)
                .map_err(|reason| UnsupportedTask {
                    state: task.state.to_string(),
                    reason,
                })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_parse() {
        assert_eq!(
            parse_resource("arn:aws:states:::sns:publish.waitForTaskToken"),
            Some(Resource {
                service: "sns",
                action: "publish"
            })
        );
        assert_eq!(
            parse_resource("arn:aws:states:::aws-sdk:sagemaker:describeEndpoint"),
            Some(Resource {
                service: "sagemaker",
                action: "describeEndpoint"
            })
        );
        assert_eq!(
            parse_resource("arn:aws:states:::sagemaker:createProcessingJob.sync"),
            Some(Resource {
                service: "sagemaker",
                action: "createProcessingJob"
            })
        );
        assert_eq!(
            parse_resource("arn:aws:states:::states:startExecution.sync:2"),
            Some(Resource {
                service: "states",
                action: "startExecution"
            })
        );
        assert_eq!(
            parse_resource("arn:aws:lambda:eu-west-1:1:function:x"),
            None
        );
        assert_eq!(
            function_short_name("arn:aws:lambda:local:0:function:pricing:live"),
            "pricing"
        );
        assert_eq!(function_short_name("pricing"), "pricing");
    }

    struct Echo;

    #[async_trait]
    impl LocalFunction for Echo {
        async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
            if payload["fail"] == true {
                return Err(FunctionError {
                    error_type: "RetryableThrottled".into(),
                    message: "slow down".into(),
                });
            }
            Ok(payload)
        }
    }

    fn load(definition: Value) -> Definition {
        Definition::from_value(&definition).unwrap()
    }

    fn runner(dir: &tempfile::TempDir) -> LocalRunner {
        let store = Arc::new(platform::store::LocalStore::new(dir.path()).unwrap());
        LocalRunner::new(Arc::new(Messaging::new(store))).with_function("echo", Arc::new(Echo))
    }

    #[tokio::test]
    async fn lambda_invoke_wraps_payload_and_reports_error_names() {
        let dir = tempfile::tempdir().unwrap();
        let r = runner(&dir);
        let ok = r
            .call(
                "arn:aws:states:::lambda:invoke",
                &json!({"FunctionName": "arn:aws:lambda:local:0:function:echo", "Payload": {"a": 1}}),
                None,
            )
            .await
            .unwrap();
        assert_eq!(ok["Payload"], json!({"a": 1}));
        let err = r
            .call(
                "arn:aws:states:::lambda:invoke",
                &json!({"FunctionName": "echo", "Payload": {"fail": true}}),
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(err.error, "RetryableThrottled");
        assert!(err.cause.contains("slow down"));
    }

    #[tokio::test]
    async fn a_function_arn_resource_gives_the_functions_answer_unwrapped() {
        let dir = tempfile::tempdir().unwrap();
        let r = runner(&dir);
        let arn = "arn:aws:lambda:local:000000000000:function:echo";
        r.check(arn, None).unwrap();
        assert!(
            r.check("arn:aws:lambda:local:0:function:other", None)
                .is_err()
        );
        let ok = r.call(arn, &json!({"a": 1}), None).await.unwrap();
        assert_eq!(ok, json!({"a": 1}));
        let err = r.call(arn, &json!({"fail": true}), None).await.unwrap_err();
        assert_eq!(err.error, "RetryableThrottled");

        let definition = load(json!({"StartAt": "A", "States": {"A": {"Type": "Task",
            "Resource": arn, "ResultSelector": {"got.$": "$.a"}, "End": true}}}));
        check_resources(&definition, &r, &[]).unwrap();
    }

    #[test]
    fn a_jsonata_invoke_names_its_function_in_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let r = runner(&dir);
        let invoke = |function: &str| {
            load(
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "QueryLanguage": "JSONata",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": function, "Payload": {}}, "End": true}}}),
            )
        };
        check_resources(&invoke("echo"), &r, &[]).unwrap();
        let unknown = check_resources(&invoke("other"), &r, &[]).unwrap_err();
        assert_eq!(
            unknown,
            UnsupportedTask {
                state: "A".into(),
                reason: NoStandIn::Function("other".into())
            }
        );
        let computed = check_resources(&invoke("{% $states.input.f %}"), &r, &[]).unwrap_err();
        assert_eq!(computed.reason, NoStandIn::FunctionName);
    }

    #[test]
    fn unsupported_resources_are_refused_with_the_state_named() {
        let dir = tempfile::tempdir().unwrap();
        let r = runner(&dir);
        let definition = load(json!({"StartAt": "A", "States": {
            "A": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "B", "States": {
                "B": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": true}}}]}}}));
        let err = check_resources(&definition, &r, &[]).unwrap_err();
        assert_eq!(err.state, "B");
        assert_eq!(
            err.reason,
            NoStandIn::Integration("dynamodb:putItem".into())
        );
        assert!(
            err.to_string().contains("state \"B\", field Resource"),
            "{err}"
        );
        let map = load(
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "C", "States": {"C": {"Type": "Task",
                "Resource": "arn:aws:states:::s3:putObject", "End": true}}}}}}),
        );
        assert_eq!(check_resources(&map, &r, &[]).unwrap_err().state, "C");
        let ok = load(json!({"StartAt": "A", "States": {"A": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "echo"}, "End": true}}}));
        check_resources(&ok, &r, &[]).unwrap();
        check_resources(&definition, &r, &["B".to_string()]).unwrap();
    }

    #[tokio::test]
    async fn without_stand_ins_a_reached_state_fails_naming_itself() {
        let dir = tempfile::tempdir().unwrap();
        let r = runner(&dir).without_stand_ins();
        let unknown = load(json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": true}}}));
        check_resources(&unknown, &r, &[]).unwrap();
        let err = r
            .run_task(TaskRequest {
                state: "PublishPrice".into(),
                resource: "arn:aws:states:::events:putEvents".into(),
                pattern: IntegrationPattern::RequestResponse,
                parameters: json!({"Entries": []}),
                task_token: None,
                callbacks: None,
                context: json!({}),
                timeout: None,
                retry_count: 0,
            })
            .await
            .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("\"PublishPrice\""), "{}", err.cause);
        assert!(err.cause.contains("--local-stand-ins"), "{}", err.cause);
    }
}
