//! The front door's rules for HTTP/1.1 request heads and chunked bodies, checked before hyper sees a
//! byte, so that every refusal is ours — a status of the error table and Alibaba's envelope — rather than
//! hyper's bare status line.
//!
//! Pure: [`check_head`] looks at the bytes received so far and says "need more", "this head is fine and
//! this long, with this body framing", or "refused, because"; [`ChunkTracker`] follows a chunked body so
//! that the next head is found where it starts. Both are tested on their own, including with arbitrary
//! bytes.

use crate::errors::{ApiError, ErrorCode};

/// Limits on a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// The request line (method, target, version).
    pub max_uri_bytes: usize,
    /// Every header line together.
    pub max_header_bytes: usize,
    /// One header (name and value).
    pub max_one_header_bytes: usize,
    pub max_headers: usize,
}

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (no `Content-Length`, no `Transfer-Encoding`), or `Content-Length: 0`.
    None,
    Length(u64),
    Chunked,
}

/// What the bytes received so far make of a request head.
#[derive(Debug, Clone, PartialEq)]
pub enum HeadCheck {
    /// Not a whole head yet, and nothing wrong so far.
    Incomplete,
    /// A whole head of `len` bytes (its blank line included), followed by a body framed so.
    Complete {
        len: usize,
        framing: Framing,
    },
    Refused(ApiError),
}

/// The HTTP/2 connection preface: a connection that starts with it is not ours to check.
pub const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the bytes received at the start of a plain-HTTP connection are a TLS handshake record.
pub fn is_tls_handshake(start: &[u8]) -> bool {
    // A TLS record: content type 22 (handshake), then a 3.x legacy version.
    start.len() >= 2 && start[0] == 0x16 && start[1] == 0x03
}

fn malformed(reason: impl std::fmt::Display) -> ApiError {
    ApiError::with_message(
        ErrorCode::MalformedRequest,
        format!("The request is not valid HTTP/1.1: {reason}."),
    )
}

/// The refusal for a TLS handshake on the plain-HTTP port.
pub fn tls_on_plain_port() -> ApiError {
    malformed("a TLS handshake arrived on the plain-HTTP port; use https:// and the HTTPS listener")
}

/// Checks the head at the start of `buf`.
pub fn check_head(buf: &[u8], limits: &HeadLimits) -> HeadCheck {
    // The request line first: its length alone decides 414, whatever follows.
    let line_end = buf.iter().position(|&b| b == b'\n');
    match line_end {
        None if buf.len() > limits.max_uri_bytes => {
            return HeadCheck::Refused(ErrorCode::RequestUriTooLong.into())
        }
        None => return HeadCheck::Incomplete,
        Some(end) if end > limits.max_uri_bytes => {
            return HeadCheck::Refused(ErrorCode::RequestUriTooLong.into())
        }
        Some(_) => {}
    }
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut headers);
    let parsed = req.parse(buf);
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            // The header section so far, without the request line.
            let line = line_end.unwrap_or(0) + 1;
            if buf.len() - line > limits.max_header_bytes + 4 {
                return HeadCheck::Refused(ErrorCode::RequestHeaderTooLarge.into());
            }
            return HeadCheck::Incomplete;
        }
        Err(httparse::Error::TooManyHeaders) => {
            return HeadCheck::Refused(ErrorCode::RequestHeaderTooLarge.into())
        }
        Err(httparse::Error::Version) => {
            return HeadCheck::Refused(ErrorCode::HttpVersionNotSupported.into())
        }
        Err(e) => return HeadCheck::Refused(malformed(describe(e))),
    };
    let line = line_end.unwrap_or(0) + 1;
    if len - line > limits.max_header_bytes + 2 {
        return HeadCheck::Refused(ErrorCode::RequestHeaderTooLarge.into());
    }
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    for h in req.headers.iter() {
        if h.name.len() + h.value.len() > limits.max_one_header_bytes {
            return HeadCheck::Refused(ErrorCode::RequestHeaderTooLarge.into());
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            let Some(n) = parse_content_length(h.value) else {
                return HeadCheck::Refused(malformed("Content-Length must be a decimal number"));
            };
            match content_length {
                Some(m) if m != n => {
                    return HeadCheck::Refused(malformed(
                        "Content-Length is given twice with different values",
                    ))
                }
                _ => content_length = Some(n),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
            // Only `chunked`, once, and last; any other coding is one we do not implement.
            let value = std::str::from_utf8(h.value).unwrap_or("");
            for coding in value.split(',').map(str::trim) {
                if coding.eq_ignore_ascii_case("chunked") && !chunked {
                    chunked = true;
                } else {
                    return HeadCheck::Refused(ErrorCode::UnsupportedTransferEncoding.into());
                }
            }
        }
    }
    if transfer_encoding && content_length.is_some() {
        // Either one could be believed; a proxy in front may have believed the other (smuggling).
        return HeadCheck::Refused(malformed(
            "Content-Length and Transfer-Encoding are both given",
        ));
    }
    if transfer_encoding && !chunked {
        return HeadCheck::Refused(ErrorCode::UnsupportedTransferEncoding.into());
    }
    let framing = match (chunked, content_length) {
        (true, _) => Framing::Chunked,
        (false, Some(0)) | (false, None) => Framing::None,
        (false, Some(n)) => Framing::Length(n),
    };
    HeadCheck::Complete { len, framing }
}

/// `1*DIGIT`, no sign, no spaces inside, within u64.
fn parse_content_length(value: &[u8]) -> Option<u64> {
    let v = trim(value);
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    &v[start..end]
}

fn describe(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => {
            "a header line has no colon, or its name has characters a name may not"
        }
        httparse::Error::HeaderValue => "a header value has control characters",
        httparse::Error::NewLine => "a line does not end in CRLF",
        httparse::Error::Status => "the status is malformed",
        httparse::Error::Token => {
            "the request line is malformed (a token for the method, printable ASCII for the target)"
        }
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "the HTTP version is not supported",
    }
}

/// Follows a chunked body (RFC 9112 §7.1) byte by byte: where it ends, or that it is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkTracker {
    state: Chunk,
    /// Digits of the current size line (a size of more than 16 hex digits is broken).
    digits: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading a chunk size.
    Size(u64),
    /// After the size: an extension up to CR.
    Extension(u64),
    /// CR seen after a size line.
    SizeLf(u64),
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// After data: CR expected.
    DataCr,
    DataLf,
    /// After the last (0) chunk: a trailer line or the final CRLF.
    TrailerStart,
    TrailerLine,
    TrailerLf,
    FinalLf,
    Done,
    Broken,
}

/// What feeding bytes to a [`ChunkTracker`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkProgress {
    /// All of the bytes belong to the body; it goes on.
    More,
    /// The body ends after this many of the bytes.
    Done(usize),
    /// The framing is broken (hyper will refuse the body itself).
    Broken,
}

impl Default for ChunkTracker {
    fn default() -> Self {
        ChunkTracker {
            state: Chunk::Size(0),
            digits: 0,
        }
    }
}

impl ChunkTracker {
    /// Follows `bytes`, the next bytes of the body.
    pub fn feed(&mut self, bytes: &[u8]) -> ChunkProgress {
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            self.state = match self.state {
                Chunk::Data(n) => {
                    // Skip the data in one step.
                    let take = (n.min((bytes.len() - i) as u64)) as usize;
                    i += take;
                    self.state = if take as u64 == n {
                        Chunk::DataCr
                    } else {
                        Chunk::Data(n - take as u64)
                    };
                    continue;
                }
                Chunk::Size(n) => match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        self.digits += 1;
                        if self.digits > 16 {
                            Chunk::Broken
                        } else {
                            Chunk::Size((n << 4) | u64::from(hex_value(b)))
                        }
                    }
                    _ if self.digits == 0 => Chunk::Broken,
                    b';' | b' ' | b'\t' => Chunk::Extension(n),
                    b'\r' => Chunk::SizeLf(n),
                    _ => Chunk::Broken,
                },
                Chunk::Extension(n) => match b {
                    b'\r' => Chunk::SizeLf(n),
                    b'\n' => Chunk::Broken,
                    _ => Chunk::Extension(n),
                },
                Chunk::SizeLf(n) => match b {
                    b'\n' if n == 0 => Chunk::TrailerStart,
                    b'\n' => Chunk::Data(n),
                    _ => Chunk::Broken,
                },
                Chunk::DataCr => match b {
                    b'\r' => Chunk::DataLf,
                    _ => Chunk::Broken,
                },
                Chunk::DataLf => match b {
                    b'\n' => {
                        self.digits = 0;
                        Chunk::Size(0)
                    }
                    _ => Chunk::Broken,
                },
                Chunk::TrailerStart => match b {
                    b'\r' => Chunk::FinalLf,
                    b'\n' => Chunk::Broken,
                    _ => Chunk::TrailerLine,
                },
                Chunk::TrailerLine => match b {
                    b'\r' => Chunk::TrailerLf,
                    _ => Chunk::TrailerLine,
                },
                Chunk::TrailerLf => match b {
                    b'\n' => Chunk::TrailerStart,
                    _ => Chunk::Broken,
                },
                Chunk::FinalLf => match b {
                    b'\n' => Chunk::Done,
                    _ => Chunk::Broken,
                },
                Chunk::Done | Chunk::Broken => unreachable!("checked below"),
            };
            i += 1;
            match self.state {
                Chunk::Done => return ChunkProgress::Done(i),
                Chunk::Broken => return ChunkProgress::Broken,
                _ => {}
            }
        }
        ChunkProgress::More
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits {
        max_uri_bytes: 1024,
        max_header_bytes: 2048,
        max_one_header_bytes: 512,
        max_headers: 20,
    };

    fn code(head: &[u8]) -> ErrorCode {
        match check_head(head, &LIMITS) {
            HeadCheck::Refused(e) => e.code,
            other => panic!("{:?} not refused: {other:?}", String::from_utf8_lossy(head)),
        }
    }

    fn framing(head: &[u8]) -> Framing {
        match check_head(head, &LIMITS) {
            HeadCheck::Complete { len, framing } => {
                assert_eq!(len, head.len());
                framing
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(head)),
        }
    }

    #[test]
    fn good_heads_and_their_framing() {
        assert_eq!(
            framing(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
            Framing::None
        );
        assert_eq!(framing(b"GET / HTTP/1.0\r\n\r\n"), Framing::None);
        assert_eq!(
            framing(b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"),
            Framing::Length(12)
        );
        assert_eq!(
            framing(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
            Framing::None
        );
        assert_eq!(
            framing(b"POST / HTTP/1.1\r\ncontent-length: 5\r\nContent-Length:  5 \r\n\r\n"),
            Framing::Length(5),
            "the same length twice is one length"
        );
        assert_eq!(
            framing(b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"),
            Framing::Chunked
        );
    }

    #[test]
    fn partial_heads_wait_for_more() {
        let head = b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n";
        for cut in 0..head.len() {
            assert_eq!(
                check_head(&head[..cut], &LIMITS),
                HeadCheck::Incomplete,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn each_refusal_has_its_code() {
        use ErrorCode::*;
        let long_uri = [b"GET /?".as_slice(), &[b'a'; 2000], b" HTTP/1.1\r\n\r\n"].concat();
        assert_eq!(code(&long_uri), RequestUriTooLong);
        assert_eq!(code(&long_uri[..1500]), RequestUriTooLong, "before its end");
        let big = [
            b"GET / HTTP/1.1\r\nX: ".as_slice(),
            &[b'a'; 600],
            b"\r\n\r\n",
        ]
        .concat();
        assert_eq!(code(&big), RequestHeaderTooLarge);
        let many: Vec<u8> = [b"GET / HTTP/1.1\r\n".to_vec()]
            .into_iter()
            .chain((0..30).map(|i| format!("X-{i}: v\r\n").into_bytes()))
            .chain([b"\r\n".to_vec()])
            .collect::<Vec<_>>()
            .concat();
        assert_eq!(code(&many), RequestHeaderTooLarge);
        let endless: Vec<u8> = [b"GET / HTTP/1.1\r\n".to_vec()]
            .into_iter()
            .chain((0..20).map(|i| format!("X-{i}: {}\r\n", "v".repeat(200)).into_bytes()))
            .collect::<Vec<_>>()
            .concat();
        assert_eq!(
            code(&endless),
            RequestHeaderTooLarge,
            "too much before the end"
        );
        for cl in [
            "-1",
            "abc",
            "1e3",
            "0x10",
            "99999999999999999999999",
            "",
            "1 2",
            "+5",
        ] {
            assert_eq!(
                code(format!("POST / HTTP/1.1\r\nContent-Length: {cl}\r\n\r\n").as_bytes()),
                MalformedRequest,
                "Content-Length: {cl}"
            );
        }
        assert_eq!(
            code(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            MalformedRequest
        );
        assert_eq!(
            code(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            MalformedRequest
        );
        for te in [
            "xchunked",
            "gzip",
            "gzip, chunked",
            "chunked, chunked",
            "chunked, gzip",
        ] {
            assert_eq!(
                code(format!("POST / HTTP/1.1\r\nTransfer-Encoding: {te}\r\n\r\n").as_bytes()),
                UnsupportedTransferEncoding,
                "{te}"
            );
        }
        assert_eq!(
            code(b"GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n"),
            MalformedRequest
        );
        assert_eq!(
            code(b"GET / HTTP/1.1\r\nX-A: a\x01b\r\n\r\n"),
            MalformedRequest
        );
        assert_eq!(
            code(b"GET / HTTP/1.1\r\nNoColonHere\r\n\r\n"),
            MalformedRequest
        );
        assert_eq!(code(b"GET /\xff HTTP/1.1\r\n\r\n"), MalformedRequest);
        assert_eq!(code(b"GET / HTTP/9.9\r\n\r\n"), HttpVersionNotSupported);
        assert_eq!(code(b"G(T / HTTP/1.1\r\n\r\n"), MalformedRequest);
    }

    #[test]
    fn tls_records_are_recognised() {
        assert!(is_tls_handshake(&[0x16, 0x03, 0x01, 0x02, 0x00]));
        assert!(!is_tls_handshake(b"GET / HTTP/1.1"));
        assert!(!is_tls_handshake(&[0x16]));
    }

    fn feed_all(body: &[u8], pieces: usize) -> ChunkProgress {
        let mut t = ChunkTracker::default();
        let step = body.len().div_ceil(pieces.max(1)).max(1);
        let mut offset = 0;
        for piece in body.chunks(step) {
            match t.feed(piece) {
                ChunkProgress::More => offset += piece.len(),
                ChunkProgress::Done(n) => return ChunkProgress::Done(offset + n),
                ChunkProgress::Broken => return ChunkProgress::Broken,
            }
        }
        ChunkProgress::More
    }

    #[test]
    fn chunked_bodies_end_where_they_end_in_any_pieces() {
        let body = b"5\r\nhello\r\na;ext=1\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
        let next = b"GET / HTTP/1.1\r\n\r\n";
        let stream = [body.as_slice(), next].concat();
        for pieces in 1..=stream.len() {
            assert_eq!(
                feed_all(&stream, pieces),
                ChunkProgress::Done(body.len()),
                "{pieces} pieces"
            );
        }
        assert_eq!(feed_all(b"0\r\n\r\n", 1), ChunkProgress::Done(5));
        assert_eq!(feed_all(b"5\r\nhel", 1), ChunkProgress::More);
    }

    #[test]
    fn broken_chunks_are_broken() {
        for bad in [
            &b"zz\r\nabc\r\n0\r\n\r\n"[..],
            b"\r\n",
            b"5\r\nhelloX",
            b"5\nhello\r\n",
            b"11111111111111111\r\n",
            b"0\r\n\n",
        ] {
            assert_eq!(
                feed_all(bad, 1),
                ChunkProgress::Broken,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = check_head(&bytes, &LIMITS);
            let mut t = ChunkTracker::default();
            let _ = t.feed(&bytes);
        }

        #[test]
        fn a_complete_head_is_the_same_with_anything_after_it(
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let head = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
            let both = [head.as_slice(), &tail].concat();
            proptest::prop_assert_eq!(
                check_head(&both, &LIMITS),
                HeadCheck::Complete { len: head.len(), framing: Framing::Length(3) }
            );
        }
    }
}
