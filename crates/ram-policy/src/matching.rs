//! Wildcard patterns: `*` matches any run of characters (including none, and including `:` and
//! `/`), `?` matches exactly one character; every other character matches itself.
//!
//! Patterns are compiled once at load time. The shapes real policies use (`*`, `cams:Get*`, an
//! exact ARN, literals between stars) get dedicated fast paths; patterns mixing `?` and `*` run a
//! constant-space backtracking matcher whose worst case is O(pattern × input), never exponential.

/// How letters compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    /// Resources and `StringLike` values.
    Sensitive,
    /// Actions. Action names are ASCII (`service:Name`), so ASCII folding is the whole story and
    /// keeps `?` meaning "one character" on both sides of the comparison. The pattern's literals
    /// are folded at compile time; the caller folds the input once (see [`with_ascii_folded`])
    /// so that every pattern then compares bytes exactly.
    AsciiInsensitive,
}

/// A compiled wildcard pattern, matched against bytes of UTF-8 text.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    shape: Shape,
}

#[derive(Debug, Clone)]
enum Shape {
    /// Only stars: matches every input.
    Everything,
    /// No wildcard at all.
    Exact(Box<[u8]>),
    /// A literal followed by stars only, e.g. `cams:Get*`.
    Prefix(Box<[u8]>),
    /// Stars followed by a literal only, e.g. `*Insights`.
    Suffix(Box<[u8]>),
    /// Literals separated by stars, no `?`, e.g. `acs:cams:*:123:custspace/a*` or `*curl*`:
    /// anchored first and last literals, middle literals found by substring search.
    Segments {
        first: Box<[u8]>,
        middle: Box<[Box<[u8]>]>,
        last: Box<[u8]>,
    },
    /// Anything else (patterns with `?` and at least one star).
    Glob(Box<[Token]>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// One byte of a literal character (multi-byte characters become several tokens; since a
    /// UTF-8 sequence never starts inside another, byte-wise comparison is exact).
    Byte(u8),
    /// `?`: one whole character.
    AnyChar,
    /// `*`: consecutive stars are collapsed into one.
    AnyRun,
}

impl Pattern {
    pub(crate) fn compile(source: &str, case: Case) -> Pattern {
        let folded;
        let source = match case {
            Case::Sensitive => source,
            Case::AsciiInsensitive => {
                folded = source.to_ascii_lowercase();
                folded.as_str()
            }
        };
        let mut tokens: Vec<Token> = Vec::with_capacity(source.len());
        for byte in source.bytes() {
            let token = match byte {
                b'*' => Token::AnyRun,
                b'?' => Token::AnyChar,
                other => Token::Byte(other),
            };
            if token == Token::AnyRun && tokens.last() == Some(&Token::AnyRun) {
                continue;
            }
            tokens.push(token);
        }
        Pattern {
            shape: Shape::from_tokens(tokens),
        }
    }

    /// Matches `input` byte for byte (for an [`Case::AsciiInsensitive`] pattern, `input` must
    /// already be ASCII-folded).
    #[inline]
    pub(crate) fn matches(&self, input: &[u8]) -> bool {
        match &self.shape {
            Shape::Everything => true,
            Shape::Exact(literal) => input == &**literal,
            Shape::Prefix(literal) => input.starts_with(literal),
            Shape::Suffix(literal) => input.ends_with(literal),
            Shape::Segments {
                first,
                middle,
                last,
            } => segments_match(first, middle, last, input),
            Shape::Glob(tokens) => glob_match(tokens, input),
        }
    }
}

impl Shape {
    fn from_tokens(tokens: Vec<Token>) -> Shape {
        let literal_bytes = |tokens: &[Token]| -> Option<Box<[u8]>> {
            tokens
                .iter()
                .map(|token| match token {
                    Token::Byte(byte) => Some(*byte),
                    Token::AnyChar | Token::AnyRun => None,
                })
                .collect()
        };
        match tokens.as_slice() {
            [] => Shape::Exact(Box::new([])),
            [Token::AnyRun] => Shape::Everything,
            body if !body.contains(&Token::AnyChar) && body.contains(&Token::AnyRun) => {
                let mut literals: Vec<Box<[u8]>> = body
                    .split(|token| *token == Token::AnyRun)
                    .map(|literal| literal_bytes(literal).unwrap_or_default())
                    .collect();
                let last = literals.pop().unwrap_or_default();
                let first = if literals.is_empty() {
                    Box::default()
                } else {
                    literals.remove(0)
                };
                match (first.is_empty(), literals.is_empty(), last.is_empty()) {
                    (false, true, true) => Shape::Prefix(first),
                    (true, true, false) => Shape::Suffix(last),
                    _ => Shape::Segments {
                        first,
                        middle: literals
                            .into_iter()
                            .filter(|literal| !literal.is_empty())
                            .collect(),
                        last,
                    },
                }
            }
            body => match literal_bytes(body) {
                Some(exact) => Shape::Exact(exact),
                None => Shape::Glob(tokens.into_boxed_slice()),
            },
        }
    }
}

/// `first * middle₀ * … * last` against `input`: the anchored ends are checked first, then each
/// middle literal is taken at its leftmost occurrence after the previous one (leftmost is always
/// safe: it leaves the most room for what follows).
fn segments_match(first: &[u8], middle: &[Box<[u8]>], last: &[u8], input: &[u8]) -> bool {
    if input.len() < first.len() + last.len() || !input.starts_with(first) || !input.ends_with(last)
    {
        return false;
    }
    let mut window = &input[first.len()..input.len() - last.len()];
    for literal in middle {
        match find(window, literal) {
            Some(at) => window = &window[at + literal.len()..],
            None => return false,
        }
    }
    true
}

/// Leftmost occurrence of `needle` in `haystack`. Policy literals and request values are short,
/// where a scan for the first byte beats setting up a two-way searcher on every call.
#[inline]
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let last_start = haystack.len().checked_sub(needle.len())?;
    let mut from = 0;
    while from <= last_start {
        let at = from
            + haystack[from..=last_start]
                .iter()
                .position(|&byte| byte == first)?;
        if haystack[at + 1..at + needle.len()] == *rest {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Width in bytes of the UTF-8 character that starts with `first_byte`.
#[inline]
fn char_width(first_byte: u8) -> usize {
    match first_byte {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Iterative wildcard matching with single-star backtracking: on a mismatch only the most recent
/// star is extended, which is sufficient because an earlier star can absorb anything a later one
/// could. Runs in O(tokens × input) time and constant space.
fn glob_match(tokens: &[Token], input: &[u8]) -> bool {
    let mut token_at = 0usize;
    let mut input_at = 0usize;
    // (token index after the last star, input index where that star's run currently ends)
    let mut last_star: Option<(usize, usize)> = None;
    loop {
        if let Some(token) = tokens.get(token_at) {
            match *token {
                Token::AnyRun => {
                    last_star = Some((token_at + 1, input_at));
                    token_at += 1;
                    continue;
                }
                Token::AnyChar if input_at < input.len() => {
                    input_at = (input_at + char_width(input[input_at])).min(input.len());
                    token_at += 1;
                    continue;
                }
                Token::Byte(expected) if input.get(input_at) == Some(&expected) => {
                    input_at += 1;
                    token_at += 1;
                    continue;
                }
                Token::AnyChar | Token::Byte(_) => {}
            }
        } else if input_at == input.len() {
            return true;
        }
        match last_star {
            Some((after_star, run_end)) if run_end < input.len() => {
                let next_end = (run_end + char_width(input[run_end])).min(input.len());
                last_star = Some((after_star, next_end));
                token_at = after_star;
                input_at = next_end;
            }
            _ => return false,
        }
    }
}

/// Runs `body` on the ASCII-folded bytes of `text`, without allocating for the short texts
/// actions are.
#[inline]
pub(crate) fn with_ascii_folded<R>(text: &str, body: impl FnOnce(&[u8]) -> R) -> R {
    const INLINE: usize = 128;
    let bytes = text.as_bytes();
    if bytes.len() <= INLINE {
        let mut buffer = [0u8; INLINE];
        let folded = &mut buffer[..bytes.len()];
        folded.copy_from_slice(bytes);
        folded.make_ascii_lowercase();
        body(folded)
    } else {
        body(&bytes.to_ascii_lowercase())
    }
}

/// Case folding for condition keys and `*IgnoreCase` operators: simple per-character Unicode
/// lowercase (no locale, no context-dependent rules), so that folding a string and comparing
/// character by character give the same answer.
pub(crate) fn fold_case(text: &str) -> String {
    // ASCII (every condition key in use) folds byte by byte to the same result.
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.chars().flat_map(char::to_lowercase).collect()
}

/// `fold_case(text) == folded` without allocating.
#[inline]
pub(crate) fn equals_folded(text: &str, folded: &str) -> bool {
    text.chars().flat_map(char::to_lowercase).eq(folded.chars())
}

/// Whether an action pattern from a policy (`cams:Get*`) matches an action name
/// (`cams:GetMessageCampaignInsights`). Case-insensitive (ASCII), `*` and `?` wildcards.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern = Pattern::compile(pattern, Case::AsciiInsensitive);
    with_ascii_folded(action, |folded| pattern.matches(folded))
}

/// Whether a resource pattern from a policy (`acs:cams:*:*:custspace/cams-a*`) matches a
/// resource ARN. Case-sensitive, `*` and `?` wildcards.
pub fn resource_matches(pattern: &str, resource: &str) -> bool {
    Pattern::compile(pattern, Case::Sensitive).matches(resource.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn ascii_fast_path_folds_like_unicode(text in "[A-Za-z0-9:_é ÀİΣ-]{0,24}") {
            let unicode: String = text.chars().flat_map(char::to_lowercase).collect();
            proptest::prop_assert_eq!(fold_case(&text), unicode);
        }
    }

    #[test]
    fn star_matches_any_run_including_empty_and_separators() {
        assert!(resource_matches("*", ""));
        assert!(resource_matches("*", "acs:cams:x:1:a/b"));
        assert!(resource_matches("acs:*", "acs:"));
        assert!(resource_matches(
            "acs:cams:*:1:custspace/*",
            "acs:cams:ap-southeast-1:1:custspace/a/campaign/2"
        ));
        assert!(resource_matches("a*b*c", "abc"));
        assert!(resource_matches("a*b*c", "a-b-b-c"));
        assert!(!resource_matches("a*b*c", "a-c-b"));
        assert!(resource_matches("**a**", "a"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(resource_matches("a?", "ab"));
        assert!(!resource_matches("a?", "a"));
        assert!(!resource_matches("a?", "abc"));
        assert!(resource_matches("a?", "aé"));
        assert!(resource_matches("?é?", "ééé"));
        assert!(!resource_matches("??", "é"));
        assert!(resource_matches("*?", "é"));
    }

    #[test]
    fn empty_pattern_matches_only_empty_input() {
        assert!(resource_matches("", ""));
        assert!(!resource_matches("", "a"));
    }

    #[test]
    fn actions_fold_ascii_case_resources_do_not() {
        assert!(action_matches(
            "cams:Get*",
            "CAMS:getMessageCampaignInsights"
        ));
        assert!(action_matches("CAMS:GET?ESSAGE*", "cams:getMessage"));
        assert!(action_matches(
            "cams:getmessagecampaigninsights",
            "cams:GetMessageCampaignInsights"
        ));
        assert!(action_matches(
            "*insights",
            "cams:GetMessageCampaignINSIGHTS"
        ));
        assert!(!resource_matches(
            "acs:cams:*:1:custspace/a*",
            "acs:cams:x:1:custspace/A1"
        ));
        assert!(!resource_matches("*Insights", "insights"));
    }

    #[test]
    fn backtracking_is_linear_enough_for_adversarial_inputs() {
        let pattern = "*a*a*a*a*a*a*a*a*a*a*b".to_string();
        let input = "a".repeat(5000);
        assert!(!resource_matches(&pattern, &input));
    }
}
