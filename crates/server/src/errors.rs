//! Every error code the service can answer, in one table.
//!
//! The table is the single source of truth: the gateway and the actions only name an
//! [`ErrorCode`]; the HTTP status, the default message and the documentation come from here.
//! `docs/errors.md` is generated from [`ERROR_TABLE`] (see [`render_markdown`]) and a test fails
//! when the committed page and the table drift apart.

use std::fmt;

/// Where an error is raised, which decides how it travels on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Refused by the gateway (signature, permission, throttling, parameters): a 4xx/5xx status
    /// with the gateway error envelope.
    Gateway,
    /// Refused by the operation itself (unknown campaign, bad page): HTTP 200 with
    /// `Success:false`, as Alibaba's CAMS answers them.
    Business,
}

/// One row of the error table.
#[derive(Debug)]
pub struct ErrorSpec {
    pub code: &'static str,
    pub status: u16,
    pub kind: ErrorKind,
    /// The message sent when the raiser gives no more specific one. `<Name>` marks the place
    /// a specific message fills in.
    pub message: &'static str,
    /// When the error happens, for the documentation.
    pub when: &'static str,
}

macro_rules! error_codes {
    ($( $variant:ident => ($code:literal, $status:literal, $kind:ident, $message:literal, $when:literal), )*) => {
        /// A code of the error table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $variant, )* }

        /// The whole table, in documentation order.
        pub static ERROR_TABLE: &[ErrorSpec] = &[
            $( ErrorSpec { code: $code, status: $status, kind: ErrorKind::$kind, message: $message, when: $when }, )*
        ];

        impl ErrorCode {
            /// All codes, in table order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The table row of this code.
            pub fn spec(self) -> &'static ErrorSpec {
                &ERROR_TABLE[self as usize]
            }
        }
    };
}

error_codes! {
    // --- request shape -------------------------------------------------------------------
    MissingAction => ("MissingAction", 400, Gateway,
        "The input parameter \"Action\" that is mandatory for processing this request is not supplied.",
        "Neither the `x-acs-action` header (V3) nor the `Action` parameter (V2) is present."),
    MissingVersion => ("MissingVersion", 400, Gateway,
        "The input parameter \"Version\" that is mandatory for processing this request is not supplied.",
        "Neither the `x-acs-version` header (V3) nor the `Version` parameter (V2) is present."),
    InvalidVersion => ("InvalidVersion", 400, Gateway,
        "Specified parameter Version is not valid.",
        "The version is not one this server implements (`2020-06-06` for cams)."),
    InvalidActionNotFound => ("InvalidAction.NotFound", 404, Gateway,
        "Specified api is not found, please check your url and method.",
        "The action does not exist in the requested version, or the path is not `/`."),
    UnsupportedHttpMethod => ("UnsupportedHTTPMethod", 405, Gateway,
        "This http method is not supported.",
        "RPC requests must be GET or POST."),
    RequestTooLarge => ("RequestTooLarge", 413, Gateway,
        "The request body is larger than this server accepts.",
        "The body exceeds `server.max_body_bytes` (default 4 MiB for RPC requests), or, for `POST /v1/events`, `server.max_ingest_body_bytes` (default 64 MiB)."),
    RequestHeaderTooLarge => ("RequestHeaderTooLarge", 431, Gateway,
        "The request headers are larger than this server accepts.",
        "The headers together exceed `server.max_header_bytes` (default 16 KiB), one header is larger than 8 KiB, or there are more than `server.max_headers` (default 100)."),
    InvalidQueryString => ("InvalidQueryString", 400, Gateway,
        "The query string or form body is not valid form encoding.",
        "A bad percent escape (`%G1`, `%4`), or an escape that decodes to invalid UTF-8."),
    MalformedRequest => ("MalformedRequest", 400, Gateway,
        "The request is not valid HTTP/1.1: <reason>.",
        "The request line, a header or the body's framing breaks HTTP/1.1: a bad `Content-Length` (not digits, or two different values), both `Content-Length` and `Transfer-Encoding`, a malformed chunk, a header line without a colon, control bytes in a header, bytes outside the URI alphabet in the path, or a TLS handshake on the plain-HTTP port."),
    RequestUriTooLong => ("RequestURITooLong", 414, Gateway,
        "The request URI is longer than this server accepts.",
        "The request line exceeds `server.max_uri_bytes` (default 16 KiB)."),
    UnsupportedTransferEncoding => ("UnsupportedTransferEncoding", 501, Gateway,
        "The request's Transfer-Encoding is not supported; only chunked is.",
        "`Transfer-Encoding` names a coding other than `chunked` (e.g. `gzip`, `xchunked`)."),
    HttpVersionNotSupported => ("HTTPVersionNotSupported", 505, Gateway,
        "The HTTP version of the request is not supported.",
        "The request line names a version other than HTTP/1.0 or HTTP/1.1 (HTTP/2 is negotiated, not named)."),
    RequestTimeout => ("RequestTimeout", 408, Gateway,
        "The request was not received in time.",
        "The request head did not arrive within `server.header_read_timeout_secs` of its first byte (default 10 s), or the body within `server.body_read_timeout_secs` (default 60 s). The connection is closed."),
    DuplicateHeader => ("InvalidHeader.Duplicate", 400, Gateway,
        "The header <Name> appears more than once.",
        "`Authorization`, `Host`, `Content-Type` or an `x-acs-*` header is given twice: the signature could not say which one it covers."),
    DuplicateParameter => ("InvalidParameter.Duplicate", 400, Gateway,
        "The parameter <Name> appears more than once.",
        "A parameter is given twice in the query string, or twice in the form body. (A parameter in both the query and the body is not a duplicate: the body's value wins.)"),

    // --- signature -----------------------------------------------------------------------
    IncompleteSignature => ("IncompleteSignature", 400, Gateway,
        "The request signature does not conform to Aliyun standards.",
        "A malformed `Authorization` header, or a V3 request that leaves unsigned one of `host`, `x-acs-action`, `x-acs-version`, `x-acs-date`, `x-acs-content-sha256`, or another `x-acs-*` / `content-type` header it carries, or an unsupported `SignatureVersion`."),
    InvalidSignatureMethod => ("InvalidSignatureMethod", 400, Gateway,
        "Specified signature method is not supported.",
        "V3 algorithm other than `ACS3-HMAC-SHA256` / `ACS3-HMAC-SM3`, or V2 `SignatureMethod` other than `HMAC-SHA1`."),
    MissingSignature => ("MissingSignature", 400, Gateway,
        "The input parameter \"Signature\" that is mandatory for processing this request is not supplied.",
        "Neither an `Authorization` header (V3) nor a `Signature` parameter (V2)."),
    MissingAccessKeyId => ("MissingAccessKeyId", 400, Gateway,
        "The input parameter \"AccessKeyId\" that is mandatory for processing this request is not supplied.",
        "V2 request without `AccessKeyId`."),
    MissingSignatureMethod => ("MissingSignatureMethod", 400, Gateway,
        "The input parameter \"SignatureMethod\" that is mandatory for processing this request is not supplied.",
        "V2 request without `SignatureMethod`."),
    MissingSignatureVersion => ("MissingSignatureVersion", 400, Gateway,
        "The input parameter \"SignatureVersion\" that is mandatory for processing this request is not supplied.",
        "V2 request without `SignatureVersion`."),
    MissingSignatureNonce => ("MissingSignatureNonce", 400, Gateway,
        "The input parameter \"SignatureNonce\" that is mandatory for processing this request is not supplied.",
        "No `x-acs-signature-nonce` header (V3) or `SignatureNonce` parameter (V2), or an empty one."),
    MissingTimestamp => ("MissingTimestamp", 400, Gateway,
        "The input parameter \"Timestamp\" that is mandatory for processing this request is not supplied.",
        "No `x-acs-date` header (V3) or `Timestamp` parameter (V2)."),
    MissingContentSha256 => ("MissingXAcsContentSha256", 400, Gateway,
        "The input header \"x-acs-content-sha256\" that is mandatory for processing this request is not supplied.",
        "V3 request without `x-acs-content-sha256`."),
    InvalidTimeStampFormat => ("InvalidTimeStamp.Format", 400, Gateway,
        "Specified time stamp or date value is not well formatted.",
        "The date is not UTC `YYYY-MM-DDThh:mm:ssZ`."),
    InvalidTimeStampExpired => ("InvalidTimeStamp.Expired", 400, Gateway,
        "Specified time stamp or date value is expired.",
        "The date is more than 15 minutes from the server's clock, either side."),
    InvalidNonce => ("InvalidSignatureNonce", 400, Gateway,
        "Specified signature nonce is not valid.",
        "The nonce is longer than 128 bytes."),
    MissingSecurityToken => ("MissingSecurityToken", 400, Gateway,
        "The input parameter \"SecurityToken\" that is mandatory for processing this request is not supplied.",
        "A temporary (`STS.`) access key without `x-acs-security-token` (V3) or `SecurityToken` (V2)."),
    InvalidSecurityTokenMalformed => ("InvalidSecurityToken.Malformed", 400, Gateway,
        "Specified SecurityToken is malformed.",
        "The token is not one this service issued, was changed (its MAC does not verify), or its role no longer exists."),
    InvalidSecurityTokenExpired => ("InvalidSecurityToken.Expired", 400, Gateway,
        "Specified SecurityToken is expired.",
        "The session's expiration time has passed."),
    InvalidSecurityTokenMismatch => ("InvalidSecurityToken.MismatchWithAccessKey", 400, Gateway,
        "Specified SecurityToken mismatch with the AccessKey.",
        "The token was issued for another temporary access key."),
    InvalidAccessKeyIdNotFound => ("InvalidAccessKeyId.NotFound", 404, Gateway,
        "Specified access key is not found.",
        "No such access key (also: temporary `STS.` keys, until STS lands)."),
    InvalidAccessKeyIdInactive => ("InvalidAccessKeyId.Inactive", 400, Gateway,
        "Specified access key is disabled.",
        "The access key exists but its status is `Inactive`."),
    SignatureDoesNotMatch => ("SignatureDoesNotMatch", 400, Gateway,
        "Specified signature does not match our calculation.",
        "The signature is not the HMAC of the server's string to sign under the key's secret. The message echoes the server's string to sign, never the secret."),
    ContentSha256Mismatch => ("InvalidContentSha256", 400, Gateway,
        "The x-acs-content-sha256 header does not match the hash of the request body.",
        "A V3 request whose body was changed after signing."),
    SignatureNonceUsed => ("SignatureNonceUsed", 400, Gateway,
        "Specified signature nonce was used already.",
        "The same nonce was used by the same access key within the time window. Only requests that pass the signature check consume a nonce."),

    // --- authorisation and flow control -------------------------------------------------
    NoPermission => ("NoPermission", 403, Gateway,
        "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
        "No policy of the RAM user or role allows the action on the resource (implicit deny). `AccessDeniedDetail` says which action, principal and why."),
    ForbiddenRam => ("Forbidden.RAM", 403, Gateway,
        "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
        "A policy statement explicitly denies the action (explicit deny). `AccessDeniedDetail` names the deciding statements in `EncodedDiagnosticMessage`."),
    ThrottlingUser => ("Throttling.User", 400, Gateway,
        "Request was denied due to user flow control.",
        "The account exceeded the action's rate (default 50/s with a burst of 50). The `x-acs-retry-after` header says after how many milliseconds to retry."),

    // --- cluster mode --------------------------------------------------------------------
    AccountNotServedHere => ("InvalidAccount.NotServedHere", 421, Gateway,
        "This node does not serve the account; send the request to the node group that does.",
        "Cluster mode with `[cluster] accounts`: the caller's account is folded and served by another node group (docs/cluster.md). Checked after the signature and before the nonce, so the same signed request can be sent again to the right group."),

    // --- parameters ----------------------------------------------------------------------
    MissingParameter => ("MissingParameter", 400, Gateway,
        "The input parameter \"<Name>\" that is mandatory for processing this request is not supplied.",
        "A required parameter of the action is absent or empty."),
    InvalidParameter => ("InvalidParameter", 400, Gateway,
        "The parameter <Name> is not valid: <reason>.",
        "A parameter is malformed; the message names it and says why."),

    // --- STS AssumeRole ----------------------------------------------------------------
    InvalidRoleArn => ("InvalidParameter.RoleArn", 400, Gateway,
        "The parameter RoleArn is wrongly formed.",
        "`RoleArn` is not `acs:ram::<16-digit uid>:role/<name>`."),
    InvalidRoleSessionName => ("InvalidParameter.RoleSessionName", 400, Gateway,
        "The parameter RoleSessionName is wrongly formed.",
        "`RoleSessionName` is not 2-64 characters of `A-Za-z0-9.@_-`."),
    InvalidDurationSeconds => ("InvalidParameter.DurationSeconds", 400, Gateway,
        "The Min/Max value of DurationSeconds is 15min/<the role's maximum>.",
        "`DurationSeconds` is not a whole number from 900 to the role's maximum session duration."),
    InvalidPolicyGrammar => ("InvalidParameter.PolicyGrammar", 400, Gateway,
        "The parameter Policy has not passed grammar check.",
        "The session `Policy` is not a valid policy document; the message names the statement and key."),
    PolicyTooLarge => ("InvalidParameter.PolicySize", 400, Gateway,
        "The parameter Policy is too large.",
        "The session `Policy` is longer than 2048 characters."),
    RoleNotExist => ("EntityNotExist.Role", 404, Gateway,
        "The specified Role not exists.",
        "No role with that ARN."),
    NotTrusted => ("NoPermission.Trust", 403, Gateway,
        "You are not authorized to do this action. You should be authorized by RAM.",
        "The role's trust policy does not name the caller's account or user."),

    // --- ingestion endpoints (not RPC) ------------------------------------------------------
    IngestTokenInvalid => ("InvalidIngestToken", 401, Gateway,
        "The ingest token is missing or not valid.",
        "`POST /v1/events` without `Authorization: Bearer <token>` naming a configured ingest token."),

    // --- server --------------------------------------------------------------------------
    InternalError => ("InternalError", 500, Gateway,
        "The request processing has failed due to some unknown error, exception or failure.",
        "A bug: the server logs it with the request id. Never a panic on the wire: panics are caught and answered with this envelope."),
    ServiceUnavailable => ("ServiceUnavailable", 503, Gateway,
        "The request has failed due to a temporary failure of the server.",
        "The server is shutting down, its replay-protection memory is full, or every connection slot of the listener is busy with a request (`server.max_connections`); retry later."),

    // --- business errors (HTTP 200, Success:false) ---------------------------------------
    CustSpaceInvalid => ("InvalidParameter.CustSpaceInvalid", 200, Business,
        "The specified CustSpaceId does not exist.",
        "No cust space with that id in the caller's account (another account's cust space answers the same)."),
    PageInvalid => ("InvalidParameter.PageInvalid", 200, Business,
        "The specified PageId does not exist in this cust space.",
        "The page is not bound to the cust space (or, for `SyncMessageCampaign`, to any cust space of the caller's account)."),
    AdAccountInvalid => ("InvalidParameter.AdAccountInvalid", 200, Business,
        "The specified AdAccountId is not bound to this page.",
        "The ad account is not bound to the page."),
    CampaignInvalid => ("InvalidParameter.CampaignInvalid", 200, Business,
        "The specified CampaignId does not exist.",
        "No available campaign with that id under that cust space, page and ad account: unknown, deleted, or another account's."),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spec().code)
    }
}

/// An error on its way to the wire: a code of the table and, where the table's message is a
/// template or too general, the specific message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {}", self.message())]
pub struct ApiError {
    pub code: ErrorCode,
    detail: Option<String>,
    /// `AccessDeniedDetail` of a permission error.
    pub access_denied: Option<Box<serde_json::Value>>,
    /// `x-acs-retry-after` of a throttling error, in milliseconds.
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    /// The error with the table's message.
    pub fn new(code: ErrorCode) -> Self {
        ApiError {
            code,
            detail: None,
            access_denied: None,
            retry_after_ms: None,
        }
    }

    /// The error with a specific message.
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: Some(message.into()),
            access_denied: None,
            retry_after_ms: None,
        }
    }

    /// `MissingParameter` naming the parameter, in Alibaba's wording.
    pub fn missing_parameter(name: &str) -> Self {
        Self::with_message(
            ErrorCode::MissingParameter,
            format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
        )
    }

    /// `InvalidParameter` naming the parameter and the reason.
    pub fn invalid_parameter(name: &str, reason: impl fmt::Display) -> Self {
        Self::with_message(
            ErrorCode::InvalidParameter,
            format!("The parameter {name} is not valid: {reason}."),
        )
    }

    /// The message to send.
    pub fn message(&self) -> &str {
        self.detail.as_deref().unwrap_or(self.code.spec().message)
    }

    /// The HTTP status to send.
    pub fn status(&self) -> u16 {
        self.code.spec().status
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::new(code)
    }
}

impl From<store::StoreError> for ApiError {
    /// Storage failures are the server's fault: logged in full here, answered as `InternalError`
    /// (or `ServiceUnavailable` while shutting down) without internals on the wire.
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Closed => ApiError::new(ErrorCode::ServiceUnavailable),
            // Cluster mode: the log could not store the write in time (no quorum): retry later.
            store::StoreError::Unavailable(reason) => {
                tracing::error!(reason, "the log is unavailable");
                ApiError::new(ErrorCode::ServiceUnavailable)
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                ApiError::new(ErrorCode::InternalError)
            }
        }
    }
}

/// The error reference page, generated from [`ERROR_TABLE`].
pub fn render_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Error codes\n\n");
    out.push_str(
        "<!-- Generated from crates/server/src/errors.rs by `UPDATE_DOCS=1 cargo test -p server --test docs`. Do not edit by hand. -->\n\n",
    );
    out.push_str(
        "Gateway errors are answered with their HTTP status and the envelope\n\
         `{\"RequestId\",\"HostId\",\"Code\",\"Message\",\"Recommend\"}` (plus `AccessDeniedDetail` on permission errors),\n\
         with the `x-acs-request-id` header equal to `RequestId`. V2 requests with `Format=XML` get the same fields as XML\n\
         under an `<Error>` root. Business errors are answered with HTTP 200 and\n\
         `{\"RequestId\",\"Code\",\"Message\",\"Success\":false,\"AccessDeniedDetail\":\"None\"}`.\n\n\
         The checks run in this order, and the first that fails answers: action and version; signature material;\n\
         timestamp; access key; signature; body hash; nonce; parameters.\n\n",
    );
    for (title, kind) in [
        ("Gateway errors", ErrorKind::Gateway),
        ("Business errors", ErrorKind::Business),
    ] {
        out.push_str(&format!(
            "## {title}\n\n| Code | HTTP | Message | When |\n|---|---|---|---|\n"
        ));
        for spec in ERROR_TABLE.iter().filter(|s| s.kind == kind) {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                spec.code,
                spec.status,
                spec.message.replace('|', "\\|"),
                spec.when.replace('|', "\\|")
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_and_enum_line_up() {
        assert_eq!(ErrorCode::ALL.len(), ERROR_TABLE.len());
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            assert!(std::ptr::eq(code.spec(), &ERROR_TABLE[i]));
        }
    }

    #[test]
    fn codes_are_unique_and_statuses_match_kind() {
        let mut seen = HashSet::new();
        for spec in ERROR_TABLE {
            assert!(seen.insert(spec.code), "duplicate code {}", spec.code);
            match spec.kind {
                ErrorKind::Gateway => assert!(spec.status >= 400, "{}", spec.code),
                ErrorKind::Business => assert_eq!(spec.status, 200, "{}", spec.code),
            }
        }
    }

    #[test]
    fn documented_wording_is_kept() {
        assert_eq!(
            ErrorCode::SignatureDoesNotMatch.spec().message,
            "Specified signature does not match our calculation."
        );
        assert_eq!(ErrorCode::InvalidActionNotFound.spec().status, 404);
        assert_eq!(
            ErrorCode::InvalidActionNotFound.to_string(),
            "InvalidAction.NotFound"
        );
        let e = ApiError::missing_parameter("CampaignId");
        assert!(e.message().contains("\"CampaignId\""));
        assert_eq!(e.status(), 400);
    }
}
