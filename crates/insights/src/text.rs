//! Small text helpers shared by the error types.

use std::borrow::Cow;

/// Longest user-supplied value echoed back in an error message, in characters.
const MAX_ECHO_CHARS: usize = 64;

/// Shortens a user-supplied value for an error message, so that a huge or hostile input cannot blow up
/// logs or responses. Values up to 64 characters are returned unchanged.
pub(crate) fn clip(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(MAX_ECHO_CHARS) {
        None => Cow::Borrowed(s),
        Some((cut, _)) => Cow::Owned(format!("{}…", &s[..cut])),
    }
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clips_long_values_on_char_boundaries() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(100);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), 65);
        assert!(clipped.ends_with('…'));
    }
}
