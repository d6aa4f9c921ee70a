//! Calling the endpoint within a time budget: throttling, unavailability and slow attempts are
//! retried with exponential backoff and full jitter until the budget runs out; a model error or a
//! rejected request fails at once. Every outcome says how many attempts it took.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use crate::endpoint::{EndpointError, EndpointReply, ModelEndpoint};

/// How long and how often one photo may be tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total time for one photo, attempts and waits together.
    pub budget: Duration,
    /// The first backoff's upper bound; doubles with each retry.
    pub base_delay: Duration,
    /// The largest backoff upper bound.
    pub max_delay: Duration,
    /// The longest a single attempt may take (also bounded by what is left of the budget).
    pub attempt_timeout: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first): uniform in
    /// `0..=min(max_delay, base_delay × 2^(retry-1))` ("full jitter").
    pub fn backoff(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2_u32.saturating_pow(retry.saturating_sub(1)));
        let ceiling = exponential.min(self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.random_range(0..=nanos))
    }
}

/// Why a photo's inference ended without an answer.
#[derive(Debug, thiserror::Error)]
pub enum InvokeFailure {
    /// Model error or rejected request: retrying would not help.
    #[error(transparent)]
    Terminal(EndpointError),
    /// The budget ran out; `last` is the last attempt's failure (`None`: it timed out).
    #[error("no answer within the retry budget ({attempts} attempts)")]
    BudgetExhausted {
        attempts: u32,
        #[source]
        last: Option<EndpointError>,
    },
}

/// The result of [`invoke_with_retry`].
#[derive(Debug)]
pub struct Invocation {
    pub attempts: u32,
    /// Duration of the successful attempt (the inference latency); `None` on failure.
    pub latency: Option<Duration>,
    pub result: Result<EndpointReply, InvokeFailure>,
}

/// Calls `endpoint` under `policy`.
pub async fn invoke_with_retry(
    endpoint: &dyn ModelEndpoint,
    policy: &RetryPolicy,
    content_type: &str,
    body: &[u8],
    rng: &mut impl Rng,
) -> Invocation {
    let deadline = Instant::now() + policy.budget;
    let mut attempts = 0;
    let mut last = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        attempts += 1;
        let started = Instant::now();
        let limit = policy.attempt_timeout.min(remaining);
        match tokio::time::timeout(limit, endpoint.invoke(content_type, body)).await {
            Ok(Ok(reply)) => {
                return Invocation {
                    attempts,
                    latency: Some(started.elapsed()),
                    result: Ok(reply),
                };
            }
            Ok(Err(err)) if !err.is_retryable() => {
                return Invocation {
                    attempts,
                    latency: None,
                    result: Err(InvokeFailure::Terminal(err)),
                };
            }
            Ok(Err(err)) => last = Some(err),
            Err(_elapsed) => last = None,
        }
        let wait = policy.backoff(attempts, rng);
        if Instant::now() + wait >= deadline {
            break;
        }
        tokio::time::sleep(wait).await;
    }
    Invocation {
        attempts,
        latency: None,
        result: Err(InvokeFailure::BudgetExhausted { attempts, last }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    /// Answers with the scripted results in order, then never answers.
    struct Scripted(Mutex<Vec<Result<EndpointReply, EndpointError>>>);

    #[async_trait]
    impl ModelEndpoint for Scripted {
        async fn invoke(&self, _: &str, _: &[u8]) -> Result<EndpointReply, EndpointError> {
            let next = self.0.lock().unwrap().pop();
            match next {
                Some(result) => result,
                None => std::future::pending().await,
            }
        }
    }

    fn scripted(mut results: Vec<Result<EndpointReply, EndpointError>>) -> Scripted {
        results.reverse();
        Scripted(Mutex::new(results))
    }

    fn reply() -> EndpointReply {
        EndpointReply {
            body: b"{}".to_vec(),
            variant: None,
        }
    }

    fn throttled() -> EndpointError {
        EndpointError::Aws(platform::aws::AwsFailure::new(
            platform::aws::FailureKind::Throttled,
            "InvokeEndpoint",
            "damage-detector",
            "slow down",
        ))
    }

    const POLICY: RetryPolicy = RetryPolicy {
        budget: Duration::from_secs(10),
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        attempt_timeout: Duration::from_secs(2),
    };

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_ceiling() {
        let mut rng = SmallRng::seed_from_u64(7);
        for retry in 1..12 {
            let ceiling = Duration::from_millis(100 * 2_u64.pow(retry - 1)).min(POLICY.max_delay);
            let waits: Vec<_> = (0..200).map(|_| POLICY.backoff(retry, &mut rng)).collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "retry {retry}");
            // Full jitter spreads over the whole range, not just near the ceiling.
            assert!(waits.iter().any(|w| *w < ceiling / 4), "retry {retry}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_throttling_then_succeeds() {
        let endpoint = scripted(vec![Err(throttled()), Err(throttled()), Ok(reply())]);
        let mut rng = SmallRng::seed_from_u64(1);
        let run = invoke_with_retry(&endpoint, &POLICY, "image/jpeg", b"x", &mut rng).await;
        assert_eq!(run.attempts, 3);
        assert_eq!(run.result.unwrap(), reply());
    }

    #[tokio::test(start_paused = true)]
    async fn model_errors_are_not_retried() {
        let model = EndpointError::Model {
            status: Some(400),
            message: "bad image".into(),
        };
        let endpoint = scripted(vec![Err(model), Ok(reply())]);
        let mut rng = SmallRng::seed_from_u64(1);
        let run = invoke_with_retry(&endpoint, &POLICY, "image/jpeg", b"x", &mut rng).await;
        assert_eq!(run.attempts, 1);
        assert!(matches!(
            run.result,
            Err(InvokeFailure::Terminal(EndpointError::Model { .. }))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_endpoint_exhausts_the_budget() {
        let endpoint = scripted(vec![Err(throttled())]);
        let mut rng = SmallRng::seed_from_u64(1);
        let started = Instant::now();
        let run = invoke_with_retry(&endpoint, &POLICY, "image/jpeg", b"x", &mut rng).await;
        assert!(started.elapsed() <= POLICY.budget);
        // One throttled answer, then attempts that time out after 2 s each.
        assert!(run.attempts >= 4, "{}", run.attempts);
        assert!(matches!(
            run.result,
            Err(InvokeFailure::BudgetExhausted { last: None, .. })
        ));
    }
}
