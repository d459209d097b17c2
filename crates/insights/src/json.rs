//! A small, strict JSON reader for one flat object per line (the native event format).
//!
//! Hand-written rather than serde-based so that ids keep every digit (numbers are handed over as their source
//! text, never converted to floating point), errors carry a byte column, and arbitrary bytes can never cause a
//! panic. Values of fields the caller does not know are still validated (and skipped), nesting up to
//! [`MAX_DEPTH`].

use std::borrow::Cow;

/// Deepest nesting accepted inside an ignored field.
const MAX_DEPTH: usize = 64;

/// A member value. Objects and arrays (only allowed in ignored fields) are validated and summarised.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Str(Cow<'a, str>),
    /// The number exactly as written (already checked against the JSON number grammar).
    Num(&'a str),
    Bool(bool),
    Null,
    Compound,
}

/// Syntax error at a 1-based byte column.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub column: usize,
}

/// Error from [`read_object`]: bad syntax, or an error returned by the member callback.
pub(crate) enum ReadError<E> {
    Syntax(SyntaxError),
    Member(E),
}

/// Parses `input` as exactly one JSON object (surrounding whitespace allowed) and calls `member` for each
/// member in order. Stops at the first syntax error or callback error.
pub(crate) fn read_object<'a, E>(
    input: &'a [u8],
    mut member: impl FnMut(Cow<'a, str>, Value<'a>) -> Result<(), E>,
) -> Result<(), ReadError<E>> {
    let mut r = Reader { b: input, pos: 0 };
    r.ws();
    r.expect(b'{').map_err(ReadError::Syntax)?;
    r.ws();
    if r.peek() == Some(b'}') {
        r.pos += 1;
    } else {
        loop {
            r.ws();
            let key = r.string().map_err(ReadError::Syntax)?;
            r.ws();
            r.expect(b':').map_err(ReadError::Syntax)?;
            r.ws();
            let value = r.value(0).map_err(ReadError::Syntax)?;
            member(key, value).map_err(ReadError::Member)?;
            r.ws();
            match r.peek() {
                Some(b',') => r.pos += 1,
                Some(b'}') => {
                    r.pos += 1;
                    break;
                }
                _ => return Err(ReadError::Syntax(r.error())),
            }
        }
    }
    r.ws();
    if r.pos != r.b.len() {
        return Err(ReadError::Syntax(r.error()));
    }
    Ok(())
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn error(&self) -> SyntaxError {
        SyntaxError {
            column: self.pos + 1,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), SyntaxError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, SyntaxError> {
        match self.peek() {
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b'-' | b'0'..=b'9') => Ok(Value::Num(self.number()?)),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'{' | b'[') if depth < MAX_DEPTH => {
                self.compound(depth + 1)?;
                Ok(Value::Compound)
            }
            _ => Err(self.error()),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value<'a>) -> Result<Value<'a>, SyntaxError> {
        for &expected in word {
            if self.peek() != Some(expected) {
                return Err(self.error());
            }
            self.pos += 1;
        }
        Ok(value)
    }

    /// Validates an object or array starting at the current `{` or `[`.
    fn compound(&mut self, depth: usize) -> Result<(), SyntaxError> {
        let is_object = self.peek() == Some(b'{');
        let close = if is_object { b'}' } else { b']' };
        self.pos += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if is_object {
                self.string()?;
                self.ws();
                self.expect(b':')?;
                self.ws();
            }
            self.value(depth)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error()),
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as written.
    fn number(&mut self) -> Result<&'a str, SyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error()),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.one_or_more_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.one_or_more_digits()?;
        }
        // Only ASCII was consumed, so this slice is valid UTF-8.
        std::str::from_utf8(&self.b[start..self.pos]).map_err(|_| SyntaxError { column: start + 1 })
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn one_or_more_digits(&mut self) -> Result<(), SyntaxError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.error());
        }
        self.digits();
        Ok(())
    }

    /// A string starting at the current `"`; borrowed when it has no escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        self.expect(b'"')?;
        let start = self.pos;
        loop {
            match self.peek() {
                Some(b'"') => {
                    let s = self.utf8(start, self.pos)?;
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(0x00..=0x1f) | None => return Err(self.error()),
                Some(_) => self.pos += 1,
            }
        }
        // Slow path: escapes present.
        let mut out = String::from(self.utf8(start, self.pos)?);
        loop {
            let chunk_start = self.pos;
            while !matches!(self.peek(), Some(b'"' | b'\\' | 0x00..=0x1f) | None) {
                self.pos += 1;
            }
            out.push_str(self.utf8(chunk_start, self.pos)?);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let simple = match self.peek() {
                        Some(b'"') => Some('"'),
                        Some(b'\\') => Some('\\'),
                        Some(b'/') => Some('/'),
                        Some(b'b') => Some('\u{8}'),
                        Some(b'f') => Some('\u{c}'),
                        Some(b'n') => Some('\n'),
                        Some(b'r') => Some('\r'),
                        Some(b't') => Some('\t'),
                        Some(b'u') => None,
                        _ => return Err(self.error()),
                    };
                    self.pos += 1;
                    let decoded = match simple {
                        Some(c) => c,
                        None => self.unicode_escape()?,
                    };
                    out.push(decoded);
                }
                _ => return Err(self.error()),
            }
        }
    }

    /// Decodes the `XXXX` after `\u` (and a following `\uXXXX` low surrogate when needed); leaves the
    /// position after the last hex digit. Called with `pos` at the first hex digit.
    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if self.peek() != Some(b'\\') || self.b.get(self.pos + 1) != Some(&b'u') {
                return Err(self.error());
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(SyntaxError {
                    column: self.pos - 3,
                });
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else if (0xDC00..0xE000).contains(&first) {
            return Err(SyntaxError {
                column: self.pos - 3,
            });
        } else {
            first
        };
        char::from_u32(code).ok_or(SyntaxError { column: self.pos })
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut value = 0u32;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.error()),
            };
            value = value * 16 + u32::from(digit);
            self.pos += 1;
        }
        Ok(value)
    }

    fn utf8(&self, start: usize, end: usize) -> Result<&'a str, SyntaxError> {
        std::str::from_utf8(&self.b[start..end]).map_err(|e| SyntaxError {
            column: start + e.valid_up_to() + 1,
        })
    }
}
