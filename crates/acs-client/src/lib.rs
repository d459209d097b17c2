//! A small signed client for Alibaba Cloud RPC-style APIs.
//!
//! It signs exactly as the official SDKs do (V3 `ACS3-HMAC-SHA256` by default, `ACS3-HMAC-SM3`,
//! or V2 `HMAC-SHA1`), with a fresh nonce per request, and speaks HTTP/1.1 with keep-alive. Our
//! CLI, the load generator and the black-box tests use it; it never talks to anything but the
//! endpoint it is given.

use std::time::Duration;

use acs_signature::{v2, v3, V3Algorithm};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Which signature to put on requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    V3(V3Algorithm),
    V2,
}

impl SignatureScheme {
    /// `v3` (HMAC-SHA256), `v3-sm3`, or `v2`.
    pub fn parse(name: &str) -> Option<SignatureScheme> {
        match name.to_ascii_lowercase().as_str() {
            "v3" | "acs3-hmac-sha256" => Some(SignatureScheme::V3(V3Algorithm::HmacSha256)),
            "v3-sm3" | "acs3-hmac-sm3" => Some(SignatureScheme::V3(V3Algorithm::HmacSm3)),
            "v2" | "hmac-sha1" => Some(SignatureScheme::V2),
            _ => None,
        }
    }
}

/// Credentials of the caller.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Why a call failed before an HTTP answer came back.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid endpoint `{0}`")]
    Endpoint(String),
    #[error("HTTP request failed: {0}")]
    Http(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct CallResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl CallResponse {
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The `Code` field of a JSON body, if any.
    pub fn code(&self) -> Option<String> {
        self.json()
            .get("Code")
            .and_then(|c| c.as_str())
            .map(str::to_string)
    }
}

/// One API call to make.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub action: &'a str,
    pub version: &'a str,
    pub method: Method,
    /// Parameters sent in the query string.
    pub query: Vec<(String, String)>,
    /// A raw body (e.g. NDJSON or a form), with its content type.
    pub body: Option<(Bytes, String)>,
}

impl<'a> Call<'a> {
    /// A POST with parameters in the query string, as the official SDKs send RPC calls.
    pub fn new(action: &'a str, version: &'a str, params: &[(&str, &str)]) -> Self {
        Call {
            action,
            version,
            method: Method::POST,
            query: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: None,
        }
    }
}

/// A signing client bound to one endpoint.
#[derive(Clone)]
pub struct Client {
    /// `host:port`
    endpoint: String,
    credentials: Credentials,
    scheme: SignatureScheme,
    http: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

/// A fresh nonce: 32 hex characters.
pub fn new_nonce() -> String {
    acs_signature::nonce::new_nonce()
}

/// Current UTC time in the signed form.
pub fn now_utc() -> String {
    acs_signature::time::now_utc()
}

impl Client {
    /// A client for `endpoint` (`host:port`, or with an `http://` prefix).
    pub fn new(
        endpoint: &str,
        credentials: Credentials,
        scheme: SignatureScheme,
    ) -> Result<Client, ClientError> {
        let endpoint = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        if endpoint.is_empty() || endpoint.contains('/') {
            return Err(ClientError::Endpoint(endpoint));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Client {
            endpoint,
            credentials,
            scheme,
            http,
            timeout: Duration::from_secs(30),
        })
    }

    /// A client for requests that are not signed RPC calls (an admin API, webhooks): only
    /// [`send`](Self::send) is meant for it.
    pub fn unsigned(endpoint: &str) -> Result<Client, ClientError> {
        Client::new(
            endpoint,
            Credentials {
                access_key_id: String::new(),
                access_key_secret: String::new(),
                security_token: None,
            },
            SignatureScheme::V2,
        )
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Builds the signed request with the current time and a fresh nonce.
    pub fn build(&self, call: &Call) -> Request<Full<Bytes>> {
        self.build_at(call, &now_utc(), &new_nonce())
    }

    /// Builds the signed request for a given signing time and nonce (tests use this to replay or
    /// to sign in the past).
    pub fn build_at(&self, call: &Call, date: &str, nonce: &str) -> Request<Full<Bytes>> {
        let (body, content_type) = match &call.body {
            Some((b, ct)) => (b.clone(), Some(ct.as_str())),
            None => (Bytes::new(), None),
        };
        let (query, headers) = match self.scheme {
            SignatureScheme::V3(algorithm) => {
                let headers = v3::sign_request(&v3::SignRequest {
                    algorithm,
                    method: call.method.as_str(),
                    host: &self.endpoint,
                    action: call.action,
                    version: call.version,
                    query: &call.query,
                    body: &body,
                    content_type,
                    access_key_id: &self.credentials.access_key_id,
                    access_key_secret: &self.credentials.access_key_secret,
                    security_token: self.credentials.security_token.as_deref(),
                    date,
                    nonce,
                });
                (call.query.clone(), headers)
            }
            SignatureScheme::V2 => {
                // V2 signs every parameter, including those of a form body; the body's stay in
                // the body, the rest travel in the query.
                let body_params = match content_type {
                    Some(ct) if ct.starts_with("application/x-www-form-urlencoded") => {
                        std::str::from_utf8(&body)
                            .ok()
                            .and_then(|b| acs_signature::parse_form(b).ok())
                            .unwrap_or_default()
                    }
                    _ => Vec::new(),
                };
                let mut to_sign = call.query.clone();
                to_sign.extend(body_params.iter().cloned());
                let mut params = v2::sign_params(&v2::SignParams {
                    method: call.method.as_str(),
                    action: call.action,
                    version: call.version,
                    params: &to_sign,
                    access_key_id: &self.credentials.access_key_id,
                    access_key_secret: &self.credentials.access_key_secret,
                    security_token: self.credentials.security_token.as_deref(),
                    timestamp: date,
                    nonce,
                    format: "JSON",
                });
                for pair in &body_params {
                    if let Some(i) = params.iter().position(|p| p == pair) {
                        params.remove(i);
                    }
                }
                let mut headers = vec![("host".to_string(), self.endpoint.clone())];
                if let Some(ct) = content_type {
                    headers.push(("content-type".to_string(), ct.to_string()));
                }
                (params, headers)
            }
        };
        let mut uri = String::with_capacity(self.endpoint.len() + 128);
        uri.push_str("http://");
        uri.push_str(&self.endpoint);
        uri.push('/');
        if !query.is_empty() {
            uri.push('?');
            uri.push_str(&acs_signature::encode_form(&query));
        }
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = call.method.clone();
        *request.uri_mut() = uri.parse().expect("signed request URI is well-formed");
        let map = request.headers_mut();
        map.reserve(headers.len());
        for (name, value) in headers {
            let value = HeaderValue::try_from(value).expect("signed header value is well-formed");
            map.append(
                HeaderName::try_from(name).expect("signed header name is well-formed"),
                value,
            );
        }
        request
    }

    /// Sends a request as built (possibly altered by the caller).
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<CallResponse, ClientError> {
        let fut = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| ClientError::Http(e.to_string()))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| ClientError::Http(e.to_string()))?
                .to_bytes();
            Ok(CallResponse {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        tokio_timeout(self.timeout, fut).await
    }

    /// Signs and sends a call.
    pub async fn call(&self, call: &Call<'_>) -> Result<CallResponse, ClientError> {
        self.send(self.build(call)).await
    }
}

async fn tokio_timeout<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or(Err(ClientError::Timeout(limit)))
}
