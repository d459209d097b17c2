//! `X-Hub-Signature-256` verification and the `GET` subscribe handshake.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

/// The header prefix Meta uses; the rest of the header is the lowercase hex HMAC-SHA256 of the raw body.
pub const SIGNATURE_PREFIX: &str = "sha256=";

/// Length in hex digits of an HMAC-SHA256 tag.
const HEX_LEN: usize = 64;

/// Why a webhook signature was rejected. Every variant means "do not parse, do not store".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    /// The header does not start with `sha256=` (e.g. the legacy `sha1=` of `X-Hub-Signature`).
    #[error("X-Hub-Signature-256 must start with `sha256=`")]
    WrongPrefix,
    /// After the prefix, the header is not exactly 64 lowercase hexadecimal digits.
    #[error("X-Hub-Signature-256 must be `sha256=` followed by 64 lowercase hex digits")]
    MalformedHex,
    /// Well-formed, but no configured app secret produces this signature for this body.
    #[error("X-Hub-Signature-256 does not match the request body")]
    Mismatch,
}

/// Verifies `X-Hub-Signature-256: sha256=<lowercase hex>` = HMAC-SHA256(app secret, raw body).
///
/// The header is trimmed of surrounding ASCII whitespace; the prefix must be exactly `sha256=` and the digest
/// exactly 64 lowercase hex digits (Meta's format; anything else is [`SignatureError::MalformedHex`], checked
/// before any secret is used). The digest is compared in constant time ([`subtle`]) against the HMAC of
/// `body` under **every** secret in `app_secrets` — there is no early exit on a match, so the time taken does
/// not reveal which secret (if any) matched. With no secrets configured nothing verifies
/// ([`SignatureError::Mismatch`]).
pub fn verify_signature(
    header: Option<&str>,
    body: &[u8],
    app_secrets: &[&[u8]],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim_ascii();
    let hex_digest = header
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(SignatureError::WrongPrefix)?;
    let expected = decode_lowercase_hex(hex_digest).ok_or(SignatureError::MalformedHex)?;

    let mut matched = Choice::from(0);
    for secret in app_secrets {
        matched |= hmac_sha256(secret, body).ct_eq(&expected);
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Computes the header value Meta would send for `body` under `app_secret` (`sha256=<lowercase hex>`).
/// Useful for tests and for tools that replay payloads.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let tag = hmac_sha256(app_secret, body);
    let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + HEX_LEN);
    out.push_str(SIGNATURE_PREFIX);
    for b in tag {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn hmac_sha256(key: &[u8], body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Exactly 64 digits of `[0-9a-f]`, decoded; `None` otherwise (uppercase included: Meta sends lowercase).
fn decode_lowercase_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != HEX_LEN || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// The `GET` subscribe handshake (`hub.mode`, `hub.verify_token`, `hub.challenge`).
///
/// Returns the challenge to echo (status 200, body = the challenge) when `mode` is exactly `subscribe`, the
/// challenge is present and non-empty, and `token` equals one of `verify_tokens`; `None` means 403. Tokens are
/// compared in constant time against every configured token (no early exit); empty configured tokens never
/// match. The challenge is returned verbatim: the server should send it as `text/plain`.
pub fn verify_handshake(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    verify_tokens: &[&str],
) -> Option<String> {
    let token = token?;
    let mut matched = Choice::from(0);
    for configured in verify_tokens {
        let non_empty = Choice::from(u8::from(!configured.is_empty()));
        matched |= non_empty & configured.as_bytes().ct_eq(token.as_bytes());
    }
    let challenge = challenge.filter(|c| !c.is_empty())?;
    (mode == Some("subscribe") && bool::from(matched)).then(|| challenge.to_owned())
}
