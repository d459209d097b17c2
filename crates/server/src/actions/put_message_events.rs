//! `PutMessageEvents` (an action of ours, version 2020-06-06): native events as NDJSON.
//!
//! The body is `application/x-ndjson`, one event per line (`docs/events.md`). It must be signed
//! with V3, whose signature covers the body hash (V2 signs only parameters, so a V2 body could be
//! replaced in transit). Good lines are committed, bad lines are listed with their line number and
//! reason; the answer comes only after the commit is durable.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::errors::{ApiError, ErrorCode};
use crate::gateway::Authenticated;
use crate::AppState;

pub async fn handle(
    state: &Arc<AppState>,
    req: &Authenticated,
) -> Result<Map<String, Value>, ApiError> {
    if !req.body_signed {
        return Err(ApiError::with_message(
            ErrorCode::IncompleteSignature,
            "The request signature does not conform to Aliyun standards: PutMessageEvents must be signed with V3 (ACS3-*), whose signature covers the body.",
        ));
    }
    let ndjson = crate::ingest::is_ndjson(req.content_type.as_deref());
    if !ndjson {
        return Err(ApiError::invalid_parameter(
            "Content-Type",
            "the body must be application/x-ndjson",
        ));
    }
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_parameter("body", "it holds no events"));
    }
    let report = crate::ingest::ingest(state, req.caller.account_uid(), &req.body).await?;
    Ok(report.to_json())
}
