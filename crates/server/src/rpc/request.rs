//! The types the gateway's stages and the operations share: a request as it came off the wire, one that
//! passed authentication, the operation catalog's row type, and what an operation works with.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::{Map, Value};

use crate::auth::identity::{Caller, Identities};
use crate::errors::ApiError;
use crate::rpc::params::Params;
use crate::tenants::Tenants;

/// An RPC request as it came off the wire.
#[derive(Debug)]
pub struct RawRequest {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub peer: SocketAddr,
    pub secure: bool,
}

/// A request that passed authentication: what an operation gets to work with.
#[derive(Debug)]
pub struct Authenticated {
    pub caller: Caller,
    pub action: &'static ActionSpec,
    pub params: Params,
    pub body: Bytes,
    pub content_type: Option<String>,
    pub request_id: String,
    pub peer: SocketAddr,
    pub secure: bool,
    /// Whether the request was signed with V3 (whose signature covers the body).
    pub body_signed: bool,
}

/// The fields of a successful answer, besides the common ones.
pub type Answer = Map<String, Value>;

/// What an operation's handler returns.
pub type Answered = Result<Answer, ApiError>;

/// The answer of a handler that needs to wait (for a durable write).
pub type Pending<'a> = Pin<Box<dyn Future<Output = Answered> + Send + 'a>>;

/// A handler that needs to wait.
pub type AsyncHandler = for<'a> fn(&'a Ctx<'a>) -> Pending<'a>;

/// How an operation runs: reads answer at once, writes wait for durability.
#[derive(Clone, Copy)]
pub enum Handler {
    Sync(fn(&Ctx<'_>) -> Answered),
    Async(AsyncHandler),
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Handler::Sync(_) => "Handler::Sync",
            Handler::Async(_) => "Handler::Async",
        })
    }
}

/// The kind of value a parameter takes (for documentation and forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Text,
    Integer,
    /// `YYYY-MM-DD`.
    Date,
    /// A JSON document in a string.
    Json,
    /// One of the listed values.
    OneOf(&'static [&'static str]),
    /// The request body (NDJSON), not a parameter.
    Body,
}

/// One parameter of an operation.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub required: bool,
    pub kind: ParamKind,
    pub doc: &'static str,
}

/// One operation of the catalog.
#[derive(Debug)]
pub struct ActionSpec {
    /// The `Action` name.
    pub name: &'static str,
    /// The API version it belongs to.
    pub version: &'static str,
    /// The RAM action authorised for it.
    pub ram_action: &'static str,
    /// What it does, in a sentence.
    pub doc: &'static str,
    /// Its parameters, required ones first, in the order they are checked.
    pub params: &'static [ParamSpec],
    pub handler: Handler,
}

/// What an operation works with: the authenticated request and the services it may use.
pub struct Ctx<'a> {
    pub req: &'a Authenticated,
    pub store: &'a store::Store,
    pub tenants: &'a Tenants,
    pub identities: &'a Identities,
    /// Server time, unix milliseconds, taken once per request.
    pub now_ms: i64,
}

impl Ctx<'_> {
    /// The request's parameters.
    pub fn params(&self) -> &Params {
        &self.req.params
    }

    /// The caller's account.
    pub fn account(&self) -> &str {
        self.req.caller.account_uid()
    }

    /// Server time, unix seconds.
    pub fn now_secs(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }
}
