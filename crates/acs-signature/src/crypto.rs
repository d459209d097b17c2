//! Hash and HMAC primitives behind the schemes.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use sm3::Sm3;
use subtle::ConstantTimeEq;

use crate::V3Algorithm;

/// HMAC over `data` with `key`. HMAC accepts keys of every length (long keys are hashed, short
/// ones padded), so the constructor cannot fail whatever the key.
fn hmac<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The algorithm's hash of `data`.
pub(crate) fn digest(alg: V3Algorithm, data: &[u8]) -> Vec<u8> {
    match alg {
        V3Algorithm::HmacSha256 => Sha256::digest(data).to_vec(),
        V3Algorithm::HmacSm3 => Sm3::digest(data).to_vec(),
    }
}

/// The algorithm's HMAC of `data` under `key`.
pub(crate) fn hmac_v3(alg: V3Algorithm, key: &[u8], data: &[u8]) -> Vec<u8> {
    match alg {
        V3Algorithm::HmacSha256 => hmac::<Hmac<Sha256>>(key, data),
        V3Algorithm::HmacSm3 => hmac::<Hmac<Sm3>>(key, data),
    }
}

/// HMAC-SHA1 of `data` under `key`.
pub(crate) fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::<Hmac<Sha1>>(key, data)
}

/// Constant-time equality (length is not secret: a length mismatch is simply `false`).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}
