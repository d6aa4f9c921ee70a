//! The AWS entry: one function, three triggers. The load balancer's requests (the console's pages,
//! after Cognito authentication), the review topic's messages (a task joins the queue) and
//! `ListingPriced` events (the QA sample).

use aws_lambda_events::alb::{AlbTargetGroupRequest, AlbTargetGroupResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sns::SnsEvent;
use serde_json::{Value, json};
use time::OffsetDateTime;

use base64::Engine;

use crate::http::{MAX_BODY_BYTES, Method, Request, Response};
use crate::{Console, ConsoleError};

/// Which trigger an event came from.
fn kind(event: &Value) -> Option<&'static str> {
    if event.pointer("/requestContext/elb").is_some() {
        Some("alb")
    } else if event
        .pointer("/Records/0/EventSource")
        .and_then(Value::as_str)
        == Some("aws:sns")
    {
        Some("sns")
    } else if event.get("detail-type").and_then(Value::as_str) == Some("ListingPriced") {
        Some("listing_priced")
    } else {
        None
    }
}

/// Handles one Lambda event.
pub async fn dispatch(
    console: &Console,
    event: Value,
    now: OffsetDateTime,
) -> Result<Value, ConsoleError> {
    let bad = |source| ConsoleError::Record {
        key: "(event)".into(),
        source,
    };
    match kind(&event) {
        Some("alb") => {
            let request: AlbTargetGroupRequest = serde_json::from_value(event).map_err(bad)?;
            let response = match from_alb(request) {
                Some(request) => console.handle(&request, now).await,
                None => Response::text(413, "request body too large"),
            };
            serde_json::to_value(to_alb(response)).map_err(bad)
        }
        Some("sns") => {
            let event: SnsEvent = serde_json::from_value(event).map_err(bad)?;
            let mut queued = Vec::new();
            for record in event.records {
                let message: Value = serde_json::from_str(&record.sns.message).map_err(bad)?;
                queued.push(
                    console
                        .receive_review_request(&message, now)
                        .await?
                        .request
                        .listing_id,
                );
            }
            Ok(json!({"queued": queued}))
        }
        Some(_) => {
            let event: EventBridgeEvent<Value> = serde_json::from_value(event).map_err(bad)?;
            let entry = console.receive_published(&event.detail, now).await?;
            Ok(json!({"qa_sampled": entry.map(|e| e.listing_id)}))
        }
        None => Err(ConsoleError::UnknownEvent),
    }
}

/// The console's request from the load balancer's; `None` when the body is too large or not
/// base64 although flagged so.
fn from_alb(event: AlbTargetGroupRequest) -> Option<Request> {
    let query: Vec<String> = event
        .query_string_parameters
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let path = event.path.unwrap_or_else(|| "/".into());
    let mut request = Request::new(Method::parse(event.http_method.as_str()), &path);
    request.query = query.join("&");
    for (name, value) in &event.headers {
        if let Ok(v) = value.to_str() {
            request
                .headers
                .insert(name.as_str().to_ascii_lowercase(), v.to_string());
        }
    }
    let body = event.body.unwrap_or_default();
    request.body = if event.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .ok()?
    } else {
        body.into_bytes()
    };
    (request.body.len() <= MAX_BODY_BYTES).then_some(request)
}

fn to_alb(response: Response) -> AlbTargetGroupResponse {
    let mut out = AlbTargetGroupResponse::default();
    out.status_code = i64::from(response.status);
    for (name, value) in &response.headers {
        if let (Ok(n), Ok(v)) = (
            aws_lambda_events::http::HeaderName::from_bytes(name.as_bytes()),
            aws_lambda_events::http::HeaderValue::from_str(value),
        ) {
            out.headers.insert(n, v);
        }
    }
    let text = response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/"));
    out.body = Some(if text {
        Body::Text(String::from_utf8_lossy(&response.body).into_owned())
    } else {
        Body::Binary(response.body)
    });
    out
}
