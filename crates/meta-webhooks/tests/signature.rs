//! `X-Hub-Signature-256` verification and the subscribe handshake.

use meta_webhooks::{sign, verify_handshake, verify_signature, SignatureError};
use proptest::prelude::*;

const SECRET: &[u8] = b"0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const OTHER: &[u8] = b"a-different-app-secret";
const BODY: &[u8] =
    br#"{"object":"page","entry":[{"id":"140984918491243","time":1751447701532,"changes":[]}]}"#;

#[test]
fn known_vector() {
    // GitHub's documented X-Hub-Signature-256 example (same construction as Meta's).
    let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert_eq!(
        sign(b"It's a Secret to Everybody", b"Hello, World!"),
        header
    );
    assert_eq!(
        verify_signature(
            Some(header),
            b"Hello, World!",
            &[b"It's a Secret to Everybody"]
        ),
        Ok(())
    );
}

#[test]
fn valid_signature_is_accepted() {
    let header = sign(SECRET, BODY);
    assert!(header.starts_with("sha256=") && header.len() == 7 + 64);
    assert_eq!(verify_signature(Some(&header), BODY, &[SECRET]), Ok(()));
    // Surrounding whitespace (as some proxies leave it) is tolerated.
    assert_eq!(
        verify_signature(Some(&format!("  {header}\t")), BODY, &[SECRET]),
        Ok(())
    );
}

#[test]
fn wrong_secret_is_a_mismatch() {
    let header = sign(OTHER, BODY);
    assert_eq!(
        verify_signature(Some(&header), BODY, &[SECRET]),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn second_secret_matching_is_accepted() {
    let header = sign(SECRET, BODY);
    assert_eq!(
        verify_signature(Some(&header), BODY, &[OTHER, SECRET]),
        Ok(())
    );
    assert_eq!(
        verify_signature(Some(&header), BODY, &[SECRET, OTHER]),
        Ok(())
    );
}

#[test]
fn no_secrets_configured_verifies_nothing() {
    let header = sign(SECRET, BODY);
    assert_eq!(
        verify_signature(Some(&header), BODY, &[]),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn missing_header() {
    assert_eq!(
        verify_signature(None, BODY, &[SECRET]),
        Err(SignatureError::Missing)
    );
}

#[test]
fn wrong_prefix() {
    let hex = &sign(SECRET, BODY)[7..];
    for header in [
        format!("sha1={hex}"),
        hex.to_owned(),
        format!("SHA256={hex}"),
        format!("sha256:{hex}"),
        String::new(),
    ] {
        assert_eq!(
            verify_signature(Some(&header), BODY, &[SECRET]),
            Err(SignatureError::WrongPrefix),
            "{header}"
        );
    }
}

#[test]
fn malformed_hex() {
    let good = sign(SECRET, BODY);
    let hex = &good[7..];
    let cases = [
        format!("sha256={}", &hex[..63]),         // truncated by one digit
        format!("sha256={}", &hex[..62]),         // truncated by one byte
        format!("sha256={hex}0"),                 // one digit too many
        format!("sha256={}", hex.to_uppercase()), // uppercase
        format!("sha256={}", "zz".repeat(32)),    // garbage
        format!("sha256={}g", &hex[..63]),        // one non-hex digit
        format!("sha256= {}", &hex[..63]),        // inner space
        "sha256=".to_owned(),                     // empty
    ];
    for header in cases {
        assert_eq!(
            verify_signature(Some(&header), BODY, &[SECRET]),
            Err(SignatureError::MalformedHex),
            "{header}"
        );
    }
}

#[test]
fn body_changed_by_one_byte() {
    let header = sign(SECRET, BODY);
    let mut changed = BODY.to_vec();
    changed[20] ^= 0x01;
    assert_eq!(
        verify_signature(Some(&header), &changed, &[SECRET]),
        Err(SignatureError::Mismatch)
    );
    let mut longer = BODY.to_vec();
    longer.push(b'\n');
    assert_eq!(
        verify_signature(Some(&header), &longer, &[SECRET]),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn errors_read_well() {
    for (error, text) in [
        (
            SignatureError::Missing,
            "missing X-Hub-Signature-256 header",
        ),
        (
            SignatureError::WrongPrefix,
            "X-Hub-Signature-256 must start with `sha256=`",
        ),
        (
            SignatureError::MalformedHex,
            "X-Hub-Signature-256 must be `sha256=` followed by 64 lowercase hex digits",
        ),
        (
            SignatureError::Mismatch,
            "X-Hub-Signature-256 does not match the request body",
        ),
    ] {
        assert_eq!(error.to_string(), text);
    }
}

proptest! {
    #[test]
    fn any_one_byte_change_fails(
        body in prop::collection::vec(any::<u8>(), 1..600),
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let header = sign(SECRET, &body);
        prop_assert_eq!(verify_signature(Some(&header), &body, &[SECRET]), Ok(()));
        let mut changed = body.clone();
        changed[index.index(body.len())] ^= flip;
        prop_assert_eq!(
            verify_signature(Some(&header), &changed, &[OTHER, SECRET]),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn arbitrary_headers_never_verify(header in ".{0,80}", body in prop::collection::vec(any::<u8>(), 0..64)) {
        prop_assume!(header.trim() != sign(SECRET, &body));
        prop_assert!(verify_signature(Some(&header), &body, &[SECRET]).is_err());
    }
}

#[test]
fn handshake_accepts_the_configured_token() {
    assert_eq!(
        verify_handshake(
            Some("subscribe"),
            Some("meatball"),
            Some("1158201444"),
            &["meatball"]
        ),
        Some("1158201444".to_owned())
    );
}

#[test]
fn handshake_with_several_tokens() {
    assert_eq!(
        verify_handshake(
            Some("subscribe"),
            Some("new-token"),
            Some("42"),
            &["old-token", "new-token"]
        ),
        Some("42".to_owned())
    );
}

/// (mode, token, challenge, configured tokens).
type HandshakeCase<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    &'a [&'a str],
);

#[test]
fn handshake_rejections() {
    let tokens = ["meatball"];
    let cases: [HandshakeCase; 10] = [
        (Some("subscribe"), Some("wrong"), Some("1"), &tokens),
        (Some("subscribe"), Some("meatbal"), Some("1"), &tokens),
        (Some("subscribe"), Some("meatballs"), Some("1"), &tokens),
        (Some("unsubscribe"), Some("meatball"), Some("1"), &tokens),
        (Some("Subscribe"), Some("meatball"), Some("1"), &tokens),
        (None, Some("meatball"), Some("1"), &tokens),
        (Some("subscribe"), None, Some("1"), &tokens),
        (Some("subscribe"), Some("meatball"), None, &tokens),
        (Some("subscribe"), Some("meatball"), Some(""), &tokens),
        (Some("subscribe"), Some("meatball"), Some("1"), &[]),
    ];
    for (mode, token, challenge, configured) in cases {
        assert_eq!(
            verify_handshake(mode, token, challenge, configured),
            None,
            "{mode:?} {token:?} {challenge:?} {configured:?}"
        );
    }
}

#[test]
fn handshake_empty_tokens_never_match() {
    assert_eq!(
        verify_handshake(Some("subscribe"), Some(""), Some("1"), &[""]),
        None
    );
    assert_eq!(
        verify_handshake(Some("subscribe"), Some(""), Some("1"), &["x", ""]),
        None
    );
}
