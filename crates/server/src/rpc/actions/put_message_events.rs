//! `PutMessageEvents` (an action of ours, version 2020-06-06): native events as NDJSON.
//!
//! The body is `application/x-ndjson`, one event per line (`docs/events.md`). It must be signed
//! with V3, whose signature covers the body hash (V2 signs only parameters, so a V2 body could be
//! replaced in transit). Good lines are committed, bad lines are listed with their line number and
//! reason; the answer comes only after the commit is durable.

use crate::errors::{ApiError, ErrorCode};
use crate::rpc::request::{Answered, Ctx, Pending};

pub fn handle<'a>(ctx: &'a Ctx<'a>) -> Pending<'a> {
    Box::pin(run(ctx))
}

async fn run(ctx: &Ctx<'_>) -> Answered {
    let req = ctx.req;
    if !req.body_signed {
        return Err(ApiError::with_message(
            ErrorCode::IncompleteSignature,
            "The request signature does not conform to Aliyun standards: PutMessageEvents must be signed with V3 (ACS3-*), whose signature covers the body.",
        ));
    }
    if !ingest::is_ndjson(req.content_type.as_deref()) {
        return Err(ApiError::invalid_parameter(
            "Content-Type",
            "the body must be application/x-ndjson",
        ));
    }
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_parameter("body", "it holds no events"));
    }
    let report = ingest::ingest_ndjson(ctx.store, ctx.account(), &req.body).await?;
    Ok(crate::ingest::report_json(&report))
}
