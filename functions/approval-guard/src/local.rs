//! [`ModelRegistry`] in memory, for local mode and tests: model packages, endpoint configurations
//! and endpoints with SageMaker's rules where the guard depends on them (approved packages newest
//! first, a deployment replaces the serving configuration). A deployment here completes at once.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use platform::aws::{AwsFailure, FailureKind};
use time::OffsetDateTime;

use crate::registry::{
    ApprovalStatus, EndpointConfig, EndpointState, EndpointStatus, ModelPackage, ModelRegistry,
    RegistryError,
};

#[derive(Debug, Default)]
struct State {
    packages: BTreeMap<String, ModelPackage>,
    approval_descriptions: BTreeMap<String, String>,
    configs: BTreeMap<String, EndpointConfig>,
    endpoints: BTreeMap<String, EndpointState>,
}

/// Where the registry's time comes from (SageMaker stamps `LastModifiedTime` itself).
pub type Clock = fn() -> OffsetDateTime;

/// SageMaker's registry and endpoints kept in memory.
#[derive(Debug)]
pub struct LocalRegistry {
    state: Mutex<State>,
    clock: Clock,
}

impl Default for LocalRegistry {
    fn default() -> Self {
        Self::with_clock(OffsetDateTime::now_utc)
    }
}

impl LocalRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry that stamps endpoint updates with `clock` (local runs replaying recorded events).
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            state: Mutex::default(),
            clock,
        }
    }

    /// Registers (or replaces) a model package.
    pub fn put_package(&self, package: ModelPackage) {
        self.lock().packages.insert(package.arn.clone(), package);
    }

    /// Registers (or replaces) an endpoint configuration.
    pub fn put_endpoint_config(&self, config: EndpointConfig) {
        self.lock().configs.insert(config.name.clone(), config);
    }

    /// Creates (or replaces) an endpoint.
    pub fn put_endpoint(&self, endpoint: EndpointState) {
        self.lock()
            .endpoints
            .insert(endpoint.name.clone(), endpoint);
    }

    /// A package as it is now, with the last approval description set on it.
    pub fn package(&self, arn: &str) -> Option<(ModelPackage, Option<String>)> {
        let state = self.lock();
        let package = state.packages.get(arn)?.clone();
        Some((package, state.approval_descriptions.get(arn).cloned()))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is a single insert: a panic elsewhere cannot leave the maps half-changed.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn not_found(operation: &'static str, what: &str) -> RegistryError {
    RegistryError::Aws(AwsFailure::new(
        FailureKind::NotFound,
        operation,
        what,
        "not in the local registry",
    ))
}

#[async_trait]
impl ModelRegistry for LocalRegistry {
    async fn model_package(&self, arn: &str) -> Result<ModelPackage, RegistryError> {
        self.lock()
            .packages
            .get(arn)
            .cloned()
            .ok_or_else(|| not_found("DescribeModelPackage", arn))
    }

    async fn approved_packages(
        &self,
        group: &str,
        limit: usize,
    ) -> Result<Vec<String>, RegistryError> {
        let state = self.lock();
        let mut approved: Vec<&ModelPackage> = state
            .packages
            .values()
            .filter(|p| p.group == group && p.status == ApprovalStatus::Approved)
            .collect();
        approved.sort_by_key(|p| std::cmp::Reverse(p.version));
        Ok(approved
            .into_iter()
            .take(limit)
            .map(|p| p.arn.clone())
            .collect())
    }

    async fn set_approval(
        &self,
        arn: &str,
        status: ApprovalStatus,
        description: &str,
    ) -> Result<(), RegistryError> {
        let mut state = self.lock();
        let package = state
            .packages
            .get_mut(arn)
            .ok_or_else(|| not_found("UpdateModelPackage", arn))?;
        package.status = status;
        state
            .approval_descriptions
            .insert(arn.to_string(), description.to_string());
        Ok(())
    }

    async fn endpoint(&self, name: &str) -> Result<EndpointState, RegistryError> {
        self.lock()
            .endpoints
            .get(name)
            .cloned()
            .ok_or_else(|| not_found("DescribeEndpoint", name))
    }

    async fn endpoint_config(&self, name: &str) -> Result<EndpointConfig, RegistryError> {
        self.lock()
            .configs
            .get(name)
            .cloned()
            .ok_or_else(|| not_found("DescribeEndpointConfig", name))
    }

    async fn endpoint_configs_before(
        &self,
        created: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<String>, RegistryError> {
        let state = self.lock();
        let mut older: Vec<&EndpointConfig> = state
            .configs
            .values()
            .filter(|c| c.created < created)
            .collect();
        older.sort_by_key(|c| std::cmp::Reverse(c.created));
        Ok(older
            .into_iter()
            .take(limit)
            .map(|c| c.name.clone())
            .collect())
    }

    async fn update_endpoint(&self, name: &str, config: &str) -> Result<(), RegistryError> {
        let mut state = self.lock();
        if !state.configs.contains_key(config) {
            return Err(not_found("UpdateEndpoint", config));
        }
        let endpoint = state
            .endpoints
            .get_mut(name)
            .ok_or_else(|| not_found("UpdateEndpoint", name))?;
        endpoint.config = config.to_string();
        endpoint.pending_config = None;
        endpoint.status = EndpointStatus::InService;
        endpoint.auto_rollback_alarms.clear();
        endpoint.last_modified = (self.clock)();
        Ok(())
    }
}
