//! Temporary credentials: self-contained, tamper-evident security tokens.
//!
//! A token carries its claims (account, role, session, expiry, session policy) and an HMAC-SHA256
//! over them under the server's STS key; the temporary secret is derived from the key id under the
//! same key. Any node holding the key verifies a token and recomputes the secret without shared
//! state, and changing one byte of the claims (a wider session policy, a later expiry) breaks the
//! MAC.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of temporary access key ids, as Alibaba's.
pub const KEY_PREFIX: &str = "STS.";
/// Prefix of security tokens.
const TOKEN_PREFIX: &str = "CAIS";

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The temporary access key id the token is bound to.
    pub key_id: String,
    /// The role's account.
    pub account_uid: String,
    pub role: String,
    pub session: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// The session policy passed to AssumeRole, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    Expired,
    MismatchWithAccessKey,
}

/// The STS signing key.
#[derive(Clone)]
pub struct StsKey {
    key: [u8; 32],
}

impl std::fmt::Debug for StsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StsKey(<redacted>)")
    }
}

const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn base62(bytes: &[u8], len: usize) -> String {
    // 256 = 4 * 62 + 8: the tiny bias of `% 62` does not matter for identifiers derived from a MAC.
    bytes
        .iter()
        .take(len)
        .map(|b| BASE62[(*b as usize) % 62] as char)
        .collect()
}

impl StsKey {
    /// A key from configured secret material (any length; hashed to 32 bytes).
    pub fn from_secret(secret: &[u8]) -> StsKey {
        use sha2::Digest;
        StsKey {
            key: Sha256::digest(secret).into(),
        }
    }

    /// A random key (tokens do not survive a restart).
    pub fn random() -> StsKey {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS random source works");
        StsKey { key }
    }

    fn mac(&self, label: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(label);
        mac.update(&[0]);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// The temporary secret of a key id.
    pub fn secret_of(&self, key_id: &str) -> String {
        base62(&self.mac(b"secret", key_id.as_bytes()), 30)
    }

    /// A fresh key id, its secret and its token for the claims (whose `key_id` is overwritten).
    pub fn issue(&self, mut claims: SessionClaims) -> (String, String, String) {
        let mut random = [0u8; 24];
        getrandom::fill(&mut random).expect("the OS random source works");
        let key_id = format!("{KEY_PREFIX}{}", base62(&random, 24));
        claims.key_id = key_id.clone();
        let payload = serde_json::to_vec(&claims).expect("claims serialise");
        let mac = self.mac(b"token", &payload);
        let token = format!(
            "{TOKEN_PREFIX}{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(mac)
        );
        let secret = self.secret_of(&key_id);
        (key_id, secret, token)
    }

    /// Checks a presented token: well-formed and untampered, bound to this key id, not expired.
    pub fn verify(
        &self,
        token: &str,
        key_id: &str,
        now_secs: i64,
    ) -> Result<SessionClaims, TokenError> {
        let body = token
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(TokenError::Malformed)?;
        let (payload, mac) = body.split_once('.').ok_or(TokenError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| TokenError::Malformed)?;
        let expected = self.mac(b"token", &payload);
        if mac.len() != expected.len() || !bool::from(mac.ct_eq(&expected)) {
            return Err(TokenError::Malformed);
        }
        let claims: SessionClaims =
            serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.key_id != key_id {
            return Err(TokenError::MismatchWithAccessKey);
        }
        if claims.expires_at <= now_secs {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> SessionClaims {
        SessionClaims {
            key_id: String::new(),
            account_uid: "1234567890123456".into(),
            role: "admin".into(),
            session: "s1".into(),
            expires_at: 2_000,
            policy: Some(r#"{"Version":"1","Statement":[]}"#.into()),
        }
    }

    #[test]
    fn issue_then_verify() {
        let k = StsKey::from_secret(b"k");
        let (id, secret, token) = k.issue(claims());
        assert!(id.starts_with("STS."));
        assert_eq!(secret.len(), 30);
        assert_eq!(secret, k.secret_of(&id));
        let c = k.verify(&token, &id, 1_000).unwrap();
        assert_eq!(c.role, "admin");
        assert_eq!(k.verify(&token, &id, 2_000), Err(TokenError::Expired));
        assert_eq!(
            k.verify(&token, "STS.other", 1_000),
            Err(TokenError::MismatchWithAccessKey)
        );
        // Another node with the same key agrees; one with another key does not.
        assert!(StsKey::from_secret(b"k").verify(&token, &id, 1_000).is_ok());
        assert_eq!(
            StsKey::from_secret(b"x").verify(&token, &id, 1_000),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn tampering_is_detected() {
        let k = StsKey::from_secret(b"k");
        let (id, _, token) = k.issue(claims());
        let body = token.strip_prefix("CAIS").unwrap();
        let (payload, mac) = body.split_once('.').unwrap();
        let mut claims: SessionClaims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        claims.policy = None; // drop the session policy: a wider session
        let forged = format!(
            "CAIS{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
            mac
        );
        assert_eq!(k.verify(&forged, &id, 1_000), Err(TokenError::Malformed));
        for bad in [
            "",
            "CAIS",
            "CAIS.",
            "XXXX.a.b",
            "CAIS!!.!!",
            &token[..token.len() - 2],
        ] {
            assert!(k.verify(bad, &id, 1_000).is_err(), "{bad}");
        }
    }
}
