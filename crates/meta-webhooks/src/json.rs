//! A thin, lossless view of JSON on top of `serde_json`'s [`RawValue`].
//!
//! The whole body is validated once (`serde_json::from_slice::<&RawValue>`); after that every object and array
//! is opened lazily from its raw text, one level at a time. Numbers are never converted: an id is its raw text,
//! so `123456789012345678901` stays `"123456789012345678901"` (no `f64`, no `arbitrary_precision`).

use std::fmt;

use serde::de::{Deserializer as _, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The JSON type of a raw value, from its first byte (the text is already known to be valid JSON).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    pub(crate) fn of(raw: &RawValue) -> Kind {
        match raw.get().trim_ascii_start().as_bytes().first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'-' | b'0'..=b'9') => Kind::Number,
            _ => Kind::Null,
        }
    }

    /// The type with its article, for details: `an object`, `a string`, `null`, ….
    pub(crate) fn described(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "a boolean",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "boolean",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

/// The members of one JSON object, in document order, values still raw.
pub(crate) struct Obj<'a> {
    members: Vec<(String, &'a RawValue)>,
}

impl<'a> Obj<'a> {
    /// Opens `raw` as an object; `None` when it is not one.
    pub(crate) fn open(raw: &'a RawValue) -> Option<Obj<'a>> {
        if Kind::of(raw) != Kind::Object {
            return None;
        }
        let mut de = serde_json::Deserializer::from_str(raw.get());
        de.deserialize_map(MembersVisitor)
            .ok()
            .map(|members| Obj { members })
    }

    /// The value of `key`, or `None` when the key is absent or `null`. A key given twice: the last one wins
    /// (as with `serde_json::Value`).
    pub(crate) fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.members
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
            .filter(|v| Kind::of(v) != Kind::Null)
    }

    /// Whether `key` is present (even as `null`).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.members.iter().any(|(k, _)| k == key)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
            members.push(member);
        }
        Ok(members)
    }
}

/// The elements of a JSON array; `None` when `raw` is not an array.
pub(crate) fn array(raw: &RawValue) -> Option<Vec<&RawValue>> {
    if Kind::of(raw) != Kind::Array {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// The decoded text of a JSON string; `None` when `raw` is not a string (or holds an unpaired surrogate
/// escape, which has no UTF-8 form).
pub(crate) fn string(raw: &RawValue) -> Option<String> {
    if Kind::of(raw) != Kind::String {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// The raw text of a JSON number (exactly as written), or `None`.
pub(crate) fn number(raw: &RawValue) -> Option<&str> {
    (Kind::of(raw) == Kind::Number).then(|| raw.get().trim_ascii())
}
