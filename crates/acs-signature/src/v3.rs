//! V3 signatures: `ACS3-HMAC-SHA256` and `ACS3-HMAC-SM3`, carried in the `Authorization` header.
//!
//! Verifying a request on the server, step by step:
//!
//! 1. [`parse_authorization`] the header;
//! 2. check the policy with [`unsigned_required_headers`];
//! 3. compare `x-acs-content-sha256` with [`hash_payload`] of the body received;
//! 4. build the [`canonical_request`] from the decoded query parameters and the received headers,
//!    then [`string_to_sign`], then [`verify`] the provided signature.
//!
//! Signing on the client is one call: [`sign_request`].

use core::fmt;

use crate::crypto;
use crate::encoding::push_canonical_query;
use crate::{AuthorizationError, SignError, V3Algorithm};

/// Name of the header carrying the payload hash (kept for SM3 too).
pub const CONTENT_HASH_HEADER: &str = "x-acs-content-sha256";

/// Headers a V3 request must always sign, whatever else it carries.
pub const ALWAYS_SIGNED_HEADERS: [&str; 5] = [
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    CONTENT_HASH_HEADER,
];

/// Lowercase hex of the algorithm's hash of `body` (the `x-acs-content-sha256` value).
pub fn hash_payload(alg: V3Algorithm, body: &[u8]) -> String {
    lower_hex(&crypto::digest(alg, body))
}

/// The inputs of a V3 canonical request, as the server sees them. Pairs are anything that reads
/// as `&str` (owned strings, or the server's borrowed [`Cow`](std::borrow::Cow)s).
#[derive(Debug, Clone, Copy)]
pub struct CanonicalInput<'a, Q = String, H = String> {
    /// HTTP method, used as is (e.g. `POST`).
    pub method: &'a str,
    /// Canonical URI, used as is (`/` for RPC-style APIs).
    pub path: &'a str,
    /// Decoded query parameters (and form-body parameters, if the caller merges them).
    pub query: &'a [(Q, Q)],
    /// All request headers: names in any case, values as received.
    pub headers: &'a [(H, H)],
    /// Lowercase header names, in the order listed in the `Authorization` header.
    pub signed_headers: &'a [String],
    /// Payload hash (hex), normally the `x-acs-content-sha256` header value.
    pub payload_hash: &'a str,
}

/// Room for a typical canonical request, so building one allocates once.
const CANONICAL_CAPACITY: usize = 768;

/// Appends `name` in ASCII lowercase.
fn push_lowercase(out: &mut String, name: &str) {
    out.extend(name.chars().map(|c| c.to_ascii_lowercase()));
}

/// The canonical request: method, URI, canonical query, canonical headers (`name:value\n` for each
/// signed header, in the listed order, then an empty line), signed header names joined by `;`,
/// payload hash; the parts joined by `\n`.
///
/// Header names are matched case-insensitively; values are trimmed, and the values of a header
/// present several times are joined with `,`. Errors if a signed header is absent.
pub fn canonical_request<Q: AsRef<str>, H: AsRef<str>>(
    input: &CanonicalInput<'_, Q, H>,
) -> Result<String, SignError> {
    let mut out = String::with_capacity(CANONICAL_CAPACITY);
    out.push_str(input.method);
    out.push('\n');
    out.push_str(input.path);
    out.push('\n');
    push_canonical_query(&mut out, input.query);
    out.push('\n');
    for signed in input.signed_headers {
        push_lowercase(&mut out, signed);
        out.push(':');
        let mut found = false;
        for (header, value) in input.headers {
            if header.as_ref().eq_ignore_ascii_case(signed) {
                if found {
                    out.push(',');
                }
                out.push_str(value.as_ref().trim());
                found = true;
            }
        }
        if !found {
            return Err(SignError::MissingSignedHeader(signed.to_ascii_lowercase()));
        }
        out.push('\n');
    }
    out.push('\n');
    for (i, name) in input.signed_headers.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        push_lowercase(&mut out, name);
    }
    out.push('\n');
    out.push_str(input.payload_hash);
    Ok(out)
}

/// `<ALG>\n<lowercase hex hash of the canonical request>`.
pub fn string_to_sign(alg: V3Algorithm, canonical_request: &str) -> String {
    let mut out = String::from(alg.name());
    out.push('\n');
    out.push_str(&lower_hex(&crypto::digest(
        alg,
        canonical_request.as_bytes(),
    )));
    out
}

/// Lowercase hex of HMAC(secret, string to sign); the key is the raw secret.
pub fn signature(alg: V3Algorithm, secret: &[u8], string_to_sign: &str) -> String {
    lower_hex(&crypto::hmac_v3(alg, secret, string_to_sign.as_bytes()))
}

/// Whether `provided_hex` is the signature of `string_to_sign` under `secret`. The MACs are
/// compared in constant time; the hex may be in either case. Non-hex input is simply `false`.
pub fn verify(alg: V3Algorithm, secret: &[u8], string_to_sign: &str, provided_hex: &str) -> bool {
    // Both algorithms give 32-byte MACs; any other length cannot match.
    let mut provided = [0u8; 32];
    if hex::decode_to_slice(provided_hex, &mut provided).is_err() {
        return false;
    }
    let expected = crypto::hmac_v3(alg, secret, string_to_sign.as_bytes());
    crypto::ct_eq(&expected, &provided)
}

/// A parsed V3 `Authorization` header. Its [`Display`](fmt::Display) form is the header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The algorithm named first in the header.
    pub algorithm: V3Algorithm,
    /// `Credential`: the AccessKeyId.
    pub access_key_id: String,
    /// `SignedHeaders`, split on `;`: non-empty, lowercase, distinct, in the order sent.
    pub signed_headers: Vec<String>,
    /// `Signature`: hex, case as sent.
    pub signature: String,
}

impl Authorization {
    /// The header value:
    /// `<ALG> Credential=<id>,SignedHeaders=<h1;h2>,Signature=<hex>`.
    pub fn to_header_value(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} Credential={},SignedHeaders={},Signature={}",
            self.algorithm.name(),
            self.access_key_id,
            self.signed_headers.join(";"),
            self.signature
        )
    }
}

/// Whether `b` may appear in an HTTP header name (RFC 9110 `tchar`).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn parse_signed_headers(list: &str) -> Result<Vec<String>, AuthorizationError> {
    let mut names: Vec<String> = Vec::new();
    for name in list.split(';') {
        let invalid = |reason| AuthorizationError::InvalidSignedHeader {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("empty name"));
        }
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(invalid("not lowercase"));
        }
        if !name.bytes().all(is_tchar) {
            return Err(invalid("not a valid header name"));
        }
        if names.iter().any(|n| n == name) {
            return Err(invalid("listed twice"));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// Parse `<ALG> Credential=<id>,SignedHeaders=<h1;h2>,Signature=<hex>`.
///
/// Tolerates whitespace around the whole value, after the algorithm and around each component.
/// Refuses: an unknown algorithm ([`AuthorizationError::UnknownAlgorithm`], so the server can say
/// so), a missing, repeated, empty or unexpected component, an empty component slot (`,,`), a
/// signed header name that is empty, not lowercase, not a header token or repeated, and a signature
/// that is not hex.
pub fn parse_authorization(value: &str) -> Result<Authorization, AuthorizationError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AuthorizationError::Empty);
    }
    let (alg_name, rest) = match value.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((alg, rest)) => (alg, rest.trim_start()),
        None => (value, ""),
    };
    let algorithm = V3Algorithm::from_name(alg_name)
        .ok_or_else(|| AuthorizationError::UnknownAlgorithm(alg_name.to_owned()))?;

    let mut credential: Option<&str> = None;
    let mut signed_headers: Option<&str> = None;
    let mut signature: Option<&str> = None;
    if !rest.is_empty() {
        for component in rest.split(',') {
            let component = component.trim();
            if component.is_empty() {
                return Err(AuthorizationError::Malformed("empty component"));
            }
            let (key, val) = component
                .split_once('=')
                .ok_or(AuthorizationError::Malformed("component without '='"))?;
            let (part, slot) = match key.trim() {
                "Credential" => ("Credential", &mut credential),
                "SignedHeaders" => ("SignedHeaders", &mut signed_headers),
                "Signature" => ("Signature", &mut signature),
                other => return Err(AuthorizationError::UnexpectedPart(other.to_owned())),
            };
            if slot.is_some() {
                return Err(AuthorizationError::DuplicatePart(part));
            }
            let val = val.trim();
            if val.is_empty() {
                return Err(AuthorizationError::EmptyPart(part));
            }
            *slot = Some(val);
        }
    }
    let credential = credential.ok_or(AuthorizationError::MissingPart("Credential"))?;
    let signed_headers = signed_headers.ok_or(AuthorizationError::MissingPart("SignedHeaders"))?;
    let signature = signature.ok_or(AuthorizationError::MissingPart("Signature"))?;

    let signed_headers = parse_signed_headers(signed_headers)?;
    if !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthorizationError::InvalidSignature);
    }
    Ok(Authorization {
        algorithm,
        access_key_id: credential.to_owned(),
        signed_headers,
        signature: signature.to_owned(),
    })
}

/// The headers a request carries that policy says must be signed but that `signed_headers` leaves
/// out: the [`ALWAYS_SIGNED_HEADERS`] (whether or not present) plus every `x-acs-*` and
/// `content-type` header present. Lowercase, sorted, without repeats; empty when all is well (the
/// server answers `IncompleteSignature` otherwise).
pub fn unsigned_required_headers<H: AsRef<str>>(
    headers: &[(H, H)],
    signed_headers: &[String],
) -> Vec<String> {
    let is_signed = |name: &str| signed_headers.iter().any(|s| s.eq_ignore_ascii_case(name));
    // Allocates only for what is missing: nothing, on every request that will verify.
    let mut missing: Vec<String> = ALWAYS_SIGNED_HEADERS
        .iter()
        .filter(|name| !is_signed(name))
        .map(|name| (*name).to_owned())
        .collect();
    for (name, _) in headers {
        let name = name.as_ref();
        let policed = name
            .get(..6)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("x-acs-"))
            || name.eq_ignore_ascii_case("content-type");
        if policed && !is_signed(name) {
            missing.push(name.to_ascii_lowercase());
        }
    }
    missing.sort_unstable();
    missing.dedup();
    missing
}

/// Everything a client needs to send a signed V3 RPC request (path `/`).
#[derive(Debug, Clone, Copy)]
pub struct SignRequest<'a> {
    /// Signature algorithm.
    pub algorithm: V3Algorithm,
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// Endpoint host (the `host` header), e.g. `cams.ap-southeast-1.aliyuncs.com`.
    pub host: &'a str,
    /// API action (`x-acs-action`).
    pub action: &'a str,
    /// API version (`x-acs-version`), e.g. `2020-06-06`.
    pub version: &'a str,
    /// Query parameters, not encoded (the caller encodes them for the URL, e.g. with
    /// [`encode_form`](crate::encode_form)).
    pub query: &'a [(String, String)],
    /// Raw request body (its hash is signed).
    pub body: &'a [u8],
    /// `content-type` header to send and sign, if any.
    pub content_type: Option<&'a str>,
    /// AccessKeyId (`Credential`).
    pub access_key_id: &'a str,
    /// AccessKeySecret (the HMAC key).
    pub access_key_secret: &'a str,
    /// STS security token, for temporary credentials.
    pub security_token: Option<&'a str>,
    /// `x-acs-date`, UTC `YYYY-MM-DDThh:mm:ssZ`.
    pub date: &'a str,
    /// `x-acs-signature-nonce`, unique per request.
    pub nonce: &'a str,
}

/// Sign a request: returns the headers to send, lowercase names sorted, `authorization` last.
///
/// They are `host`, `x-acs-action`, `x-acs-version`, `x-acs-date`, `x-acs-signature-nonce`,
/// `x-acs-content-sha256`, `content-type` when given, and for a security token both
/// `x-acs-security-token` and `x-acs-accesskey-id` (as the SDKs send). Like the Go and Java SDKs,
/// every one of them except `authorization` is signed.
pub fn sign_request(req: &SignRequest) -> Vec<(String, String)> {
    let payload_hash = hash_payload(req.algorithm, req.body);
    let mut headers: Vec<(String, String)> = vec![
        ("host".to_owned(), req.host.to_owned()),
        ("x-acs-action".to_owned(), req.action.to_owned()),
        ("x-acs-version".to_owned(), req.version.to_owned()),
        ("x-acs-date".to_owned(), req.date.to_owned()),
        ("x-acs-signature-nonce".to_owned(), req.nonce.to_owned()),
        (CONTENT_HASH_HEADER.to_owned(), payload_hash.clone()),
    ];
    if let Some(content_type) = req.content_type {
        headers.push(("content-type".to_owned(), content_type.to_owned()));
    }
    if let Some(token) = req.security_token {
        headers.push(("x-acs-security-token".to_owned(), token.to_owned()));
        headers.push((
            "x-acs-accesskey-id".to_owned(),
            req.access_key_id.to_owned(),
        ));
    }
    headers.sort();

    let signed_headers: Vec<String> = headers.iter().map(|(name, _)| name.clone()).collect();
    // Every signed header is in `headers`, once: this cannot fail.
    let canonical = canonical_request(&CanonicalInput {
        method: req.method,
        path: "/",
        query: req.query,
        headers: &headers,
        signed_headers: &signed_headers,
        payload_hash: &payload_hash,
    })
    .unwrap_or_default();
    let to_sign = string_to_sign(req.algorithm, &canonical);
    let authorization = Authorization {
        algorithm: req.algorithm,
        access_key_id: req.access_key_id.to_owned(),
        signed_headers,
        signature: signature(req.algorithm, req.access_key_secret.as_bytes(), &to_sign),
    };
    headers.push(("authorization".to_owned(), authorization.to_header_value()));
    headers
}

/// Lowercase hex of a digest (a table lookup per nibble: this runs twice per request).
fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}
