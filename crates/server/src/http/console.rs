//! The web console: static files under `/console/`, embedded in the binary, and the operation catalog
//! as JSON for its "Try it now" forms.
//!
//! The console holds no server-side session and no secret: the browser signs every call itself (V3) and
//! sends it to the same RPC endpoint the SDKs use, so signatures, RAM, flow control and tenancy apply
//! exactly as for any client. What this module serves is public: the page, its scripts, and the list of
//! operations with their parameters (the same table the gateway dispatches on).
//!
//! Every path under `/console/` that is not a file answers the page itself, so that deep links
//! (`/console/campaigns/...`, `/console/explorer/{Action}`) load the application, which routes on the
//! path. Setting `CAMS_CONSOLE_DIR` serves the files from that directory instead (for working on the
//! console without rebuilding).

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Value};

use crate::rpc::catalog::ACTIONS;
use crate::rpc::request::ParamKind;

/// One embedded file: its name under `/console/`, its media type, its bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $media:literal) => {
        Asset {
            name: $name,
            media_type: $media,
            bytes: include_bytes!(concat!("../../console/", $name)),
        }
    };
}

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("sign.js", "text/javascript; charset=utf-8"),
    asset!("charts.js", "text/javascript; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The page allows only its own scripts, styles and API: no inline script, no other origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/// `GET /console`: the console lives at `/console/`.
pub async fn redirect() -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, HeaderValue::from_static("/console/"))],
    )
        .into_response()
}

/// `GET /console/`: the page.
pub async fn index() -> Response {
    serve("index.html")
}

/// `GET /console/{*path}`: a file, the catalog, or (any other path) the page.
pub async fn file(Path(path): Path<String>) -> Response {
    if path == "catalog.json" {
        return with_headers(
            "application/json",
            catalog().to_string().into_bytes().into(),
        );
    }
    serve(&path)
}

fn serve(path: &str) -> Response {
    let asset = ASSETS.iter().find(|a| a.name == path).unwrap_or(&ASSETS[0]);
    if let Some(dir) = std::env::var_os("CAMS_CONSOLE_DIR") {
        if let Ok(bytes) = std::fs::read(std::path::Path::new(&dir).join(asset.name)) {
            return with_headers(asset.media_type, bytes.into());
        }
    }
    with_headers(
        asset.media_type,
        axum::body::Bytes::from_static(asset.bytes),
    )
}

fn with_headers(media_type: &'static str, body: axum::body::Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            // Small files, changed only by a new binary: always revalidated, never stale.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// The operation catalog as the console reads it: every operation, its version, RAM action, and
/// parameters in the order the gateway checks them.
pub fn catalog() -> Value {
    let actions: Vec<Value> = ACTIONS
        .iter()
        .map(|a| {
            let params: Vec<Value> = a
                .params
                .iter()
                .map(|p| {
                    let (kind, values): (&str, &[&str]) = match p.kind {
                        ParamKind::Text => ("text", &[]),
                        ParamKind::Integer => ("integer", &[]),
                        ParamKind::Date => ("date", &[]),
                        ParamKind::Json => ("json", &[]),
                        ParamKind::OneOf(values) => ("one_of", values),
                        ParamKind::Body => ("body", &[]),
                    };
                    json!({
                        "name": p.name,
                        "required": p.required,
                        "kind": kind,
                        "values": values,
                        "doc": p.doc,
                    })
                })
                .collect();
            json!({
                "name": a.name,
                "version": a.version,
                "ram_action": a.ram_action,
                "doc": a.doc,
                "params": params,
            })
        })
        .collect();
    json!({ "actions": actions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_lists_every_operation_with_its_parameters() {
        let c = catalog();
        let actions = c["actions"].as_array().unwrap();
        assert_eq!(actions.len(), ACTIONS.len());
        let insights = actions
            .iter()
            .find(|a| a["name"] == "GetMessageCampaignInsights")
            .unwrap();
        assert_eq!(insights["params"][0]["name"], "CustSpaceId");
        assert_eq!(insights["params"][0]["required"], true);
        let increment = insights["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "TimeIncrement")
            .unwrap();
        assert_eq!(increment["kind"], "one_of");
        assert!(increment["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "all_days"));
    }

    #[test]
    fn unknown_paths_answer_the_page_and_files_their_type() {
        assert_eq!(ASSETS[0].name, "index.html");
        for a in ASSETS {
            assert!(!a.bytes.is_empty(), "{} is empty", a.name);
        }
    }
}
