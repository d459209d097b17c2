//! Envelopes on the wire: success bodies, gateway errors, business errors; JSON or XML.

use axum::body::Body;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

#[cfg(test)]
use crate::errors::ErrorCode;
use crate::errors::{ApiError, ErrorKind};

/// The body format a request asked for (V2 `Format=XML`); JSON otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// A fresh request id: an uppercase UUID, as Alibaba's gateway returns them.
///
/// Ids must be unique, not secret: drawn from the per-thread stream of
/// [`acs_signature::nonce`], so making one costs nanoseconds and no system call.
pub fn new_request_id() -> String {
    let bits = acs_signature::nonce::random_u128();
    let mut buf = uuid::Uuid::encode_buffer();
    uuid::Builder::from_random_bytes(bits.to_le_bytes())
        .into_uuid()
        .hyphenated()
        .encode_upper(&mut buf)
        .to_string()
}

/// A success: the action's fields plus the common ones.
pub fn success(
    format: Format,
    action: &str,
    request_id: &str,
    mut fields: Map<String, Value>,
) -> Response<Body> {
    fields.insert("RequestId".into(), Value::String(request_id.into()));
    fields.insert("Code".into(), Value::String("OK".into()));
    fields.insert("Message".into(), Value::String("OK".into()));
    fields.insert("Success".into(), Value::Bool(true));
    fields.insert("AccessDeniedDetail".into(), Value::String("None".into()));
    // The root element only exists in XML.
    let root = match format {
        Format::Xml => format!("{action}Response"),
        Format::Json => String::new(),
    };
    render(StatusCode::OK, format, &root, request_id, fields)
}

/// The fields of a gateway error's envelope.
fn gateway_fields(request_id: &str, host_id: &str, err: &ApiError) -> Map<String, Value> {
    let spec = err.code.spec();
    let mut fields = Map::new();
    fields.insert("RequestId".into(), Value::String(request_id.into()));
    fields.insert("HostId".into(), Value::String(host_id.into()));
    fields.insert("Code".into(), Value::String(spec.code.into()));
    fields.insert("Message".into(), Value::String(err.message().into()));
    fields.insert(
        "Recommend".into(),
        Value::String(format!(
            "https://api.aliyun.com/troubleshoot?q={}&product=cams&requestId={}",
            spec.code, request_id
        )),
    );
    if let Some(detail) = &err.access_denied {
        fields.insert("AccessDeniedDetail".into(), detail.as_ref().clone());
    }
    fields
}

/// An error: the gateway envelope with its status, or a business error as HTTP 200.
pub fn error(
    format: Format,
    action: Option<&str>,
    request_id: &str,
    host_id: &str,
    err: &ApiError,
) -> Response<Body> {
    let spec = err.code.spec();
    match spec.kind {
        ErrorKind::Gateway => {
            let fields = gateway_fields(request_id, host_id, err);
            let status =
                StatusCode::from_u16(spec.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = render(status, format, "Error", request_id, fields);
            if let Some(ms) = err.retry_after_ms {
                response
                    .headers_mut()
                    .insert("x-acs-retry-after", HeaderValue::from(ms));
            }
            response
        }
        ErrorKind::Business => {
            let mut fields = Map::new();
            fields.insert("RequestId".into(), Value::String(request_id.into()));
            fields.insert("Code".into(), Value::String(spec.code.into()));
            fields.insert("Message".into(), Value::String(err.message().into()));
            fields.insert("Success".into(), Value::Bool(false));
            fields.insert("AccessDeniedDetail".into(), Value::String("None".into()));
            let root = format!("{}Response", action.unwrap_or("Error"));
            render(StatusCode::OK, format, &root, request_id, fields)
        }
    }
}

/// A gateway error as the bytes of a whole HTTP/1.1 response — status line, headers, the JSON envelope
/// — for refusals written before hyper has a request to answer. The connection is closed after it.
pub fn error_bytes(request_id: &str, host_id: &str, err: &ApiError) -> Vec<u8> {
    let spec = err.code.spec();
    let status = StatusCode::from_u16(spec.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&Value::Object(gateway_fields(request_id, host_id, err)))
        .unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json;charset=utf-8\r\nx-acs-request-id: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        request_id,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

fn render(
    status: StatusCode,
    format: Format,
    root: &str,
    request_id: &str,
    fields: Map<String, Value>,
) -> Response<Body> {
    let (body, content_type) = match format {
        Format::Json => {
            // Sized for a typical answer, so serialising does not grow the buffer step by step.
            let mut body = Vec::with_capacity(1024);
            if serde_json::to_writer(&mut body, &Value::Object(fields)).is_err() {
                body.clear();
            }
            (body, "application/json;charset=utf-8")
        }
        Format::Xml => (to_xml(root, &fields).into_bytes(), "text/xml;charset=utf-8"),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-acs-request-id", v);
    }
    response
}

/// Alibaba's XML rendering: one element per field, arrays as the field's element repeated.
pub fn to_xml(root: &str, fields: &Map<String, Value>) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    out.push('<');
    out.push_str(root);
    out.push('>');
    for (k, v) in fields {
        write_xml_value(&mut out, k, v);
    }
    out.push_str("</");
    out.push_str(root);
    out.push('>');
    out
}

fn write_xml_value(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                write_xml_value(out, name, item);
            }
        }
        Value::Object(map) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for (k, v) in map {
                write_xml_value(out, k, v);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        other => {
            let text = match other {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            out.push('<');
            out.push_str(name);
            out.push('>');
            escape_xml(out, &text);
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

fn escape_xml(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uppercase_uuids() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id, id.to_uppercase());
        assert_ne!(id, new_request_id());
    }

    #[test]
    fn error_bytes_are_a_whole_response_with_the_envelope() {
        let raw = error_bytes(
            "ID-1",
            "host.example",
            &ApiError::new(ErrorCode::RequestUriTooLong),
        );
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains("x-acs-request-id: ID-1"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(head.contains("connection: close"));
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["Code"], "RequestURITooLong");
        assert_eq!(v["RequestId"], "ID-1");
        assert_eq!(v["HostId"], "host.example");
        assert!(v["Recommend"]
            .as_str()
            .unwrap()
            .contains("RequestURITooLong"));
    }

    #[test]
    fn xml_rendering() {
        let v: Value =
            serde_json::json!({"A": "x<y", "Data": [{"B": "1"}, {"B": "2"}], "Ok": true});
        let xml = to_xml("R", v.as_object().unwrap());
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><R><A>x&lt;y</A><Data><B>1</B></Data><Data><B>2</B></Data><Ok>true</Ok></R>"
        );
    }
}
