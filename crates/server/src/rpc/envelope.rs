//! Stage 1 of the gateway: the envelope — sizes, method and path, the parameters (query string merged
//! with a form body), the answer format, and which operation of the catalog is asked for.

use acs_signature::CowPair;
use http::{HeaderMap, HeaderName, Method};

use crate::errors::{ApiError, ErrorCode};
use crate::rpc::catalog;
use crate::rpc::params::Params;
use crate::rpc::request::{ActionSpec, RawRequest};
use crate::rpc::response::Format;

/// All headers together may not exceed this.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// No single header may exceed this.
pub const MAX_ONE_HEADER_BYTES: usize = 8 * 1024;

pub(crate) const X_ACS_ACTION: HeaderName = HeaderName::from_static("x-acs-action");
pub(crate) const X_ACS_VERSION: HeaderName = HeaderName::from_static("x-acs-version");

/// A header's value as text (`None` when absent or not visible ASCII).
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Headers a signature depends on may appear once: with two, the signed value and the one acted on could
/// differ (V3 signs them joined; the gateway reads the first).
fn refuse_duplicate_headers(headers: &HeaderMap) -> Result<(), ApiError> {
    if headers.keys_len() == headers.len() {
        return Ok(());
    }
    for name in headers.keys() {
        let n = name.as_str();
        let matters =
            n == "authorization" || n == "host" || n == "content-type" || n.starts_with("x-acs-");
        if matters && headers.get_all(name).iter().nth(1).is_some() {
            return Err(ApiError::with_message(
                ErrorCode::DuplicateHeader,
                format!("The header {n} appears more than once."),
            ));
        }
    }
    Ok(())
}

/// A request's envelope, borrowed from it.
pub struct Envelope<'r> {
    /// The query string's pairs, decoded, in wire order (V3 signs them).
    pub query_pairs: Vec<CowPair<'r>>,
    /// The form body's pairs, decoded, in wire order (V2 signs them too).
    pub body_pairs: Vec<CowPair<'r>>,
    /// Query and body merged (the body wins on a clash).
    pub params: Params,
    pub content_type: Option<&'r str>,
    /// Whether the request carries an `Authorization` header (V3) rather than signature parameters (V2).
    pub v3: bool,
    pub action: &'static ActionSpec,
}

/// Parses the envelope. `format` is set as soon as the request says which one it wants, so that even
/// its errors come back in that format.
pub fn parse<'r>(raw: &'r RawRequest, format: &mut Format) -> Result<Envelope<'r>, ApiError> {
    // Sizes first: nothing below should spend work on an oversized request.
    let mut header_bytes = 0usize;
    for (name, value) in raw.headers.iter() {
        let one = name.as_str().len() + value.len();
        if one > MAX_ONE_HEADER_BYTES {
            return Err(ErrorCode::RequestHeaderTooLarge.into());
        }
        header_bytes += one + 4;
    }
    if header_bytes > MAX_HEADER_BYTES {
        return Err(ErrorCode::RequestHeaderTooLarge.into());
    }
    refuse_duplicate_headers(&raw.headers)?;
    if raw.method != Method::GET && raw.method != Method::POST {
        return Err(ErrorCode::UnsupportedHttpMethod.into());
    }
    if raw.path != "/" {
        return Err(ErrorCode::InvalidActionNotFound.into());
    }

    // Parameters: query, then a form body.
    let query_pairs = acs_signature::parse_form_cow(&raw.query).map_err(|e| {
        ApiError::with_message(
            ErrorCode::InvalidQueryString,
            format!("The query string is not valid: {e}."),
        )
    })?;
    let content_type = header(&raw.headers, &http::header::CONTENT_TYPE);
    let is_form = content_type.is_some_and(|ct| {
        ct.trim_start()
            .get(..33)
            .is_some_and(|p| p.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    let body_pairs = if is_form && !raw.body.is_empty() {
        let text = std::str::from_utf8(&raw.body).map_err(|_| {
            ApiError::with_message(
                ErrorCode::InvalidQueryString,
                "The form body is not valid UTF-8.",
            )
        })?;
        acs_signature::parse_form_cow(text).map_err(|e| {
            ApiError::with_message(
                ErrorCode::InvalidQueryString,
                format!("The form body is not valid: {e}."),
            )
        })?
    } else {
        Vec::new()
    };
    let params = Params::merge(&query_pairs, &body_pairs)?;

    // Scheme (only which one: its material is the next stage's), format, action and version.
    let v3 = raw.headers.contains_key(http::header::AUTHORIZATION);
    *format = if !v3
        && params
            .get("Format")
            .is_some_and(|f| f.eq_ignore_ascii_case("xml"))
    {
        Format::Xml
    } else {
        Format::Json
    };
    let (action, version) = if v3 {
        (
            header(&raw.headers, &X_ACS_ACTION),
            header(&raw.headers, &X_ACS_VERSION),
        )
    } else {
        (
            params
                .optional("Action")
                .or_else(|| header(&raw.headers, &X_ACS_ACTION)),
            params
                .optional("Version")
                .or_else(|| header(&raw.headers, &X_ACS_VERSION)),
        )
    };
    let action = action
        .filter(|a| !a.is_empty())
        .ok_or(ApiError::new(ErrorCode::MissingAction))?;
    let version = version
        .filter(|v| !v.is_empty())
        .ok_or(ApiError::new(ErrorCode::MissingVersion))?;
    let action = catalog::lookup(action, version)?;
    Ok(Envelope {
        query_pairs,
        body_pairs,
        params,
        content_type,
        v3,
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(method: Method, path: &str, query: &str, headers: &[(&str, &str)]) -> RawRequest {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        RawRequest {
            method,
            path: path.into(),
            query: query.into(),
            headers: map,
            body: bytes::Bytes::new(),
            peer: "127.0.0.1:1".parse().unwrap(),
            secure: false,
        }
    }

    fn code(r: &RawRequest) -> ErrorCode {
        parse(r, &mut Format::Json).err().expect("refused").code
    }

    #[test]
    fn each_refusal_in_order() {
        let big = "x".repeat(MAX_ONE_HEADER_BYTES);
        assert_eq!(
            code(&raw(Method::DELETE, "/x", "", &[("x-big", &big)])),
            ErrorCode::RequestHeaderTooLarge
        );
        assert_eq!(
            code(&raw(
                Method::DELETE,
                "/x",
                "%zz",
                &[("x-acs-date", "a"), ("x-acs-date", "b")]
            )),
            ErrorCode::DuplicateHeader
        );
        for name in [
            "authorization",
            "host",
            "content-type",
            "x-acs-signature-nonce",
        ] {
            let e = parse(
                &raw(Method::POST, "/", "", &[(name, "a"), (name, "b")]),
                &mut Format::Json,
            )
            .err()
            .unwrap();
            assert_eq!(e.code, ErrorCode::DuplicateHeader, "{name}");
            assert!(e.message().contains(name));
        }
        // Other headers may repeat (Accept, Cookie, ...).
        assert_ne!(
            code(&raw(
                Method::DELETE,
                "/x",
                "",
                &[("accept", "a"), ("accept", "b")]
            )),
            ErrorCode::DuplicateHeader
        );
        assert_eq!(
            code(&raw(Method::DELETE, "/x", "%zz", &[])),
            ErrorCode::UnsupportedHttpMethod
        );
        assert_eq!(
            code(&raw(Method::GET, "/x", "%zz", &[])),
            ErrorCode::InvalidActionNotFound
        );
        assert_eq!(
            code(&raw(Method::GET, "/", "%zz", &[])),
            ErrorCode::InvalidQueryString
        );
        assert_eq!(
            code(&raw(Method::GET, "/", "A=1&A=2", &[])),
            ErrorCode::DuplicateParameter
        );
        assert_eq!(
            code(&raw(Method::GET, "/", "Version=2020-06-06", &[])),
            ErrorCode::MissingAction
        );
        assert_eq!(
            code(&raw(Method::GET, "/", "Action=ListPageAdAccount", &[])),
            ErrorCode::MissingVersion
        );
        assert_eq!(
            code(&raw(
                Method::GET,
                "/",
                "Action=ListPageAdAccount&Version=2019-01-01",
                &[]
            )),
            ErrorCode::InvalidVersion
        );
    }

    #[test]
    fn v3_takes_action_and_version_from_headers_and_v2_from_parameters() {
        let v3 = raw(
            Method::POST,
            "/",
            "Action=Nope",
            &[
                ("authorization", "x"),
                ("x-acs-action", "ListPageAdAccount"),
                ("x-acs-version", "2020-06-06"),
            ],
        );
        let mut format = Format::Json;
        let e = parse(&v3, &mut format).ok().unwrap();
        assert!(e.v3);
        assert_eq!(e.action.name, "ListPageAdAccount");
        let v2 = raw(
            Method::GET,
            "/",
            "Action=GetMessageCampaignInsights&Version=2020-06-06&Format=xml",
            &[],
        );
        let e = parse(&v2, &mut format).ok().unwrap();
        assert!(!e.v3);
        assert_eq!(e.action.name, "GetMessageCampaignInsights");
        assert_eq!(format, Format::Xml);
    }
}
