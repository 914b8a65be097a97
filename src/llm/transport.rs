//! The HTTP layer under async-openai: one place that decides timeouts and retries.
//!
//! async-openai's default executor retries 429/5xx three times by itself, with no bound on a
//! server's `Retry-After` and no timeout. Lookout replaces it (the `middleware` feature) with
//! this tower service, so the limits are Lookout's own and configurable:
//! - each attempt, from sending the request to the last byte of the reply, gets `timeout`;
//! - a timeout, a failed connection, a 429 (but not `insufficient_quota`), a 408 or a 5xx is
//!   retried up to `max_retries` times, waiting the server's `Retry-After`/`retry-after-ms`
//!   or an exponential backoff with jitter (250 ms doubling, at most 8 s);
//! - a `Retry-After` longer than 30 s (or than `timeout`) is not waited for: the call fails at
//!   once as rate limited, and the caller falls back instead of stalling.
//!
//! A call therefore ends within [`RetryPolicy::worst_case`]. A failure that ends the call is
//! returned as `OpenAIError::Boxed(TransportFailure)` so the client can classify it exactly.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use http::{HeaderMap, StatusCode};
use tower::Service;

use super::metrics::LlmMetrics;

/// The response type async-openai's transport works with (reqwest's, which Lookout does not
/// otherwise depend on).
type HttpResponse = <ReqwestService as Service<HttpRequestFactory>>::Response;

/// Longest server-requested wait Lookout honours.
const MAX_WAIT: Duration = Duration::from_secs(30);
const BASE_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

#[derive(Debug, Clone, Copy)]
pub(super) struct RetryPolicy {
    /// Per attempt.
    pub timeout: Duration,
    pub max_retries: u32,
}

impl RetryPolicy {
    fn max_wait(&self) -> Duration {
        MAX_WAIT.min(self.timeout)
    }

    /// The longest a call can take: every attempt timing out, every wait at its longest.
    pub fn worst_case(&self) -> Duration {
        self.timeout * (self.max_retries + 1) + self.max_wait().max(MAX_BACKOFF) * self.max_retries
    }
}

/// Why the last attempt of a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub(super) enum TransportFailure {
    #[error("no complete reply within {0:?}")]
    Timeout(Duration),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("HTTP {status}: {message}")]
    Status {
        status: StatusCode,
        message: String,
        retry_after: Option<Duration>,
        retryable: bool,
    },
}

impl TransportFailure {
    /// The `kind` label of `lookout_llm_errors_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Connect(_) => "connect",
            Self::Status { status, .. } if *status == StatusCode::TOO_MANY_REQUESTS => {
                "rate_limited"
            }
            Self::Status { status, .. } if status.is_server_error() => "server_error",
            Self::Status { .. } => "http",
        }
    }

    fn retryable(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Connect(_) => true,
            Self::Status { retryable, .. } => *retryable,
        }
    }
}

/// The tower service installed with `Client::with_http_service`.
#[derive(Clone)]
pub(super) struct Transport {
    inner: ReqwestService,
    policy: RetryPolicy,
    metrics: LlmMetrics,
}

impl Transport {
    pub fn new(policy: RetryPolicy, metrics: LlmMetrics) -> Self {
        Self {
            inner: ReqwestService::default(),
            policy,
            metrics,
        }
    }

    async fn run(self, factory: HttpRequestFactory) -> Result<HttpResponse, OpenAIError> {
        let mut retries = 0;
        loop {
            let failure = match self.attempt(&factory).await {
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(failure)) => failure,
                Err(error) => return Err(error),
            };
            self.metrics.error(failure.kind());
            if retries >= self.policy.max_retries || !failure.retryable() {
                return Err(OpenAIError::Boxed(Box::new(failure)));
            }
            let wait = match &failure {
                TransportFailure::Status {
                    retry_after: Some(d),
                    ..
                } if *d > self.policy.max_wait() => {
                    tracing::warn!(retry_after = ?d, "LLM server asks to wait longer than Lookout will");
                    return Err(OpenAIError::Boxed(Box::new(failure)));
                }
                TransportFailure::Status {
                    retry_after: Some(d),
                    ..
                } => *d,
                _ => backoff(retries),
            };
            tracing::debug!(%failure, ?wait, retry = retries + 1, "retrying LLM request");
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }

    /// One attempt. `Err` is a failure not worth retrying (a request that cannot be built);
    /// `Ok(Err)` a failed attempt to classify.
    async fn attempt(
        &self,
        factory: &HttpRequestFactory,
    ) -> Result<Result<HttpResponse, TransportFailure>, OpenAIError> {
        let mut service = self.inner.clone();
        let factory = factory.clone();
        let exchange = async move {
            std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
            let response = service.call(factory).await?;
            let status = response.status();
            let version = response.version();
            let headers = response.headers().clone();
            // Read inside the attempt's deadline: a server that stalls mid-body times out too.
            let body = response.bytes().await.map_err(OpenAIError::Reqwest)?;
            Ok::<_, OpenAIError>((status, version, headers, body))
        };
        let (status, version, headers, body) =
            match tokio::time::timeout(self.policy.timeout, exchange).await {
                Err(_) => return Ok(Err(TransportFailure::Timeout(self.policy.timeout))),
                Ok(Err(OpenAIError::Reqwest(e))) if !e.is_builder() => {
                    return Ok(Err(TransportFailure::Connect(e.to_string())));
                }
                Ok(Err(e)) => return Err(e),
                Ok(Ok(parts)) => parts,
            };
        if status.is_success() {
            let mut rebuilt = http::Response::new(body.to_vec());
            *rebuilt.status_mut() = status;
            *rebuilt.version_mut() = version;
            *rebuilt.headers_mut() = headers;
            return Ok(Ok(HttpResponse::from(rebuilt)));
        }
        let (message, quota) = error_message(&body);
        let retryable = (status == StatusCode::TOO_MANY_REQUESTS && !quota)
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error();
        Ok(Err(TransportFailure::Status {
            status,
            message,
            retry_after: retry_after(&headers),
            retryable,
        }))
    }
}

impl Service<HttpRequestFactory> for Transport {
    type Response = HttpResponse;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, OpenAIError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Concurrency is limited above, in the client; every attempt polls the inner service.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        Box::pin(self.clone().run(factory))
    }
}

/// Exponential backoff with jitter (half to full of the step), so replicas do not retry in
/// lockstep.
fn backoff(retry: u32) -> Duration {
    let step = BASE_BACKOFF
        .saturating_mul(2u32.saturating_pow(retry))
        .min(MAX_BACKOFF);
    step.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

/// `retry-after-ms` (Azure, OpenAI), else `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = text("retry-after")?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
        .or(Some(Duration::ZERO))
}

/// The error's message (OpenAI's `{"error":{"message":..}}` or the body's start), and whether
/// it is the permanent `insufficient_quota` kind of 429.
fn error_message(body: &[u8]) -> (String, bool) {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let field = |name: &str| error.and_then(|e| e.get(name)).and_then(|v| v.as_str());
    let quota = [field("type"), field("code")].contains(&Some("insufficient_quota"));
    let message = match field("message").or_else(|| error.and_then(|e| e.as_str())) {
        Some(m) => m.to_string(),
        None => String::from_utf8_lossy(body).into_owned(),
    };
    let message: String = message.trim().chars().take(300).collect();
    (message, quota)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_milliseconds_seconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn errors_are_summarised_and_quota_is_permanent() {
        let (m, quota) = error_message(
            br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota"}}"#,
        );
        assert_eq!(m, "You exceeded your current quota");
        assert!(quota);
        let (m, quota) = error_message(b"<html>bad gateway</html>");
        assert_eq!(m, "<html>bad gateway</html>");
        assert!(!quota);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for retry in 0..20 {
            let d = backoff(retry);
            let step = BASE_BACKOFF
                .saturating_mul(2u32.saturating_pow(retry))
                .min(MAX_BACKOFF);
            assert!(d >= step / 2 && d <= step, "{retry}: {d:?}");
        }
    }

    #[test]
    fn the_worst_case_bounds_every_attempt_and_wait() {
        let p = RetryPolicy {
            timeout: Duration::from_secs(60),
            max_retries: 2,
        };
        assert_eq!(p.worst_case(), Duration::from_secs(240));
        let quick = RetryPolicy {
            timeout: Duration::from_millis(500),
            max_retries: 0,
        };
        assert_eq!(quick.worst_case(), Duration::from_millis(500));
    }
}
