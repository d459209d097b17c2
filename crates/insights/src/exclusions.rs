//! Regional exclusion sets (`docs/metrics.md`, "Regional exclusions").
//!
//! **E2** countries are left out of the sent, delivered, read and failed counts; **E5** countries (always a
//! superset of E2) are left out of link clicks. Spend excludes nothing. Unknown countries are never excluded.

use crate::country::{CountryCode, CODE_SPACE};

/// The 27 EU members plus IS, LI, NO (the EEA). Checked at compile time.
const EEA: [CountryCode; 30] = {
    const CODES: [&str; 30] = [
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
        "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
    ];
    let mut out = [CountryCode::lit("AT"); 30];
    let mut i = 0;
    while i < CODES.len() {
        out[i] = CountryCode::lit(CODES[i]);
        i += 1;
    }
    out
};
const E2_EXTRA: [CountryCode; 2] = [CountryCode::lit("GB"), CountryCode::lit("JP")];
const E5_EXTRA: [CountryCode; 3] = [
    CountryCode::lit("AR"),
    CountryCode::lit("TR"),
    CountryCode::lit("KR"),
];

/// Set of country codes as a bitset over the two-letter code space.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
struct CodeSet([u64; (CODE_SPACE as usize).div_ceil(64)]);

impl CodeSet {
    fn insert(&mut self, c: CountryCode) {
        let i = usize::from(c.index());
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn contains_index(&self, index: u16) -> bool {
        let i = usize::from(index);
        i < usize::from(CODE_SPACE) && self.0[i / 64] & (1 << (i % 64)) != 0
    }

    fn union(&self, other: &CodeSet) -> CodeSet {
        let mut out = *self;
        for (a, b) in out.0.iter_mut().zip(other.0.iter()) {
            *a |= b;
        }
        out
    }

    fn codes(&self) -> Vec<CountryCode> {
        (0..CODE_SPACE)
            .filter(|&i| self.contains_index(i))
            .filter_map(CountryCode::from_index)
            .collect()
    }
}

/// The two exclusion sets. Construction enforces E5 ⊇ E2.
#[derive(Clone, PartialEq, Eq)]
pub struct Exclusions {
    e2: CodeSet,
    e5: CodeSet,
}

impl Exclusions {
    /// Meta's sets: E2 = EEA + GB + JP; E5 = E2 + AR, TR, KR.
    pub fn meta_default() -> Exclusions {
        Exclusions::new(EEA.into_iter().chain(E2_EXTRA), E5_EXTRA)
    }

    /// Builds the sets; E5 becomes `e5 ∪ e2`.
    pub fn new(
        e2: impl IntoIterator<Item = CountryCode>,
        e5: impl IntoIterator<Item = CountryCode>,
    ) -> Exclusions {
        let mut e2_set = CodeSet::default();
        e2.into_iter().for_each(|c| e2_set.insert(c));
        let mut e5_set = CodeSet::default();
        e5.into_iter().for_each(|c| e5_set.insert(c));
        Exclusions {
            e2: e2_set,
            e5: e5_set.union(&e2_set),
        }
    }

    /// No exclusions at all.
    pub fn none() -> Exclusions {
        Exclusions::new([], [])
    }

    /// Whether sent/delivered/read/failed of a message in this country are left out (`None` = unknown: never).
    pub fn excludes_counts(&self, country: Option<CountryCode>) -> bool {
        country.is_some_and(|c| self.e2.contains_index(c.index()))
    }

    /// Whether link clicks of a message in this country are left out (`None` = unknown: never).
    pub fn excludes_clicks(&self, country: Option<CountryCode>) -> bool {
        country.is_some_and(|c| self.e5.contains_index(c.index()))
    }

    /// The E2 set, alphabetically.
    pub fn e2(&self) -> Vec<CountryCode> {
        self.e2.codes()
    }

    /// The E5 set (including E2), alphabetically.
    pub fn e5(&self) -> Vec<CountryCode> {
        self.e5.codes()
    }
}

impl Default for Exclusions {
    fn default() -> Self {
        Exclusions::meta_default()
    }
}

impl std::fmt::Debug for Exclusions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exclusions")
            .field("e2", &self.e2())
            .field("e5", &self.e5())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Option<CountryCode> {
        s.parse().ok()
    }

    #[test]
    fn meta_default_sets() {
        let x = Exclusions::meta_default();
        assert_eq!(x.e2().len(), 32);
        assert_eq!(x.e5().len(), 35);
        for code in ["FR", "DE", "IS", "LI", "NO", "GB", "JP"] {
            assert!(x.excludes_counts(c(code)), "{code}");
            assert!(x.excludes_clicks(c(code)), "{code}");
        }
        for code in ["AR", "TR", "KR"] {
            assert!(!x.excludes_counts(c(code)), "{code}");
            assert!(x.excludes_clicks(c(code)), "{code}");
        }
        for code in ["US", "BR", "CH", "GG", "JE", "IM"] {
            assert!(!x.excludes_counts(c(code)), "{code}");
            assert!(!x.excludes_clicks(c(code)), "{code}");
        }
        assert!(!x.excludes_counts(None));
        assert!(!x.excludes_clicks(None));
    }

    #[test]
    fn e5_is_forced_to_contain_e2() {
        let x = Exclusions::new(c("BR"), c("US"));
        assert!(x.excludes_counts(c("BR")));
        assert!(x.excludes_clicks(c("BR")));
        assert!(x.excludes_clicks(c("US")));
        assert!(!x.excludes_counts(c("US")));
    }
}
