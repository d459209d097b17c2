//! Request parameters: the query string merged with a form body.

use std::collections::BTreeMap;

use crate::errors::{ApiError, ErrorCode};

/// Parameters the gateway itself consumes (signature material and the SDK's common ones); the
/// actions never see them as their own.
pub const PROTOCOL_PARAMETERS: &[&str] = &[
    "Action",
    "Version",
    "Format",
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "SignatureType",
    "Timestamp",
    "SecurityToken",
    "RegionId",
    "OwnerId",
    "ResourceOwnerAccount",
    "ResourceOwnerId",
];

/// The parameters of one request, decoded, one value per name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Merges query and body pairs. A name twice within the query, or twice within the body,
    /// is refused; a name in both takes the body's value (documented in docs/api.md).
    pub fn merge<S: AsRef<str>>(query: &[(S, S)], body: &[(S, S)]) -> Result<Params, ApiError> {
        let duplicate = |name: &str| {
            ApiError::with_message(
                ErrorCode::DuplicateParameter,
                format!("The parameter {name} appears more than once."),
            )
        };
        let mut values = BTreeMap::new();
        for (name, value) in query {
            let name = name.as_ref();
            if values.contains_key(name) {
                return Err(duplicate(name));
            }
            values.insert(name.to_owned(), value.as_ref().to_owned());
        }
        // A body may repeat a query name (and wins), not one of its own.
        let mut seen_in_body = std::collections::HashSet::new();
        for (name, value) in body {
            let name = name.as_ref();
            if !seen_in_body.insert(name) {
                return Err(duplicate(name));
            }
            values.insert(name.to_owned(), value.as_ref().to_owned());
        }
        Ok(Params { values })
    }

    /// Builds from pairs known to be unique (tests, internal callers).
    pub fn from_pairs<I, K, V>(pairs: I) -> Params
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Params {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value, if present (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value if present and not empty.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// The value, or `MissingParameter` naming it when absent or empty.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.optional(name)
            .ok_or_else(|| ApiError::missing_parameter(name))
    }

    /// Every parameter whose name starts with `prefix` (for flattened forms like `Page.Index`).
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.values
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn body_wins_and_duplicates_are_refused() {
        let p = Params::merge(&pairs(&[("A", "1"), ("B", "2")]), &pairs(&[("B", "3")])).unwrap();
        assert_eq!(p.get("B"), Some("3"));
        let e = Params::merge(&pairs(&[("A", "1"), ("A", "2")]), &[]).unwrap_err();
        assert_eq!(e.code, ErrorCode::DuplicateParameter);
        assert!(e.message().contains('A'));
        let e = Params::merge(&[], &pairs(&[("A", "1"), ("A", "1")])).unwrap_err();
        assert_eq!(e.code, ErrorCode::DuplicateParameter);
    }

    #[test]
    fn required_names_the_parameter() {
        let p = Params::from_pairs([("A", "")]);
        let e = p.required("A").unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingParameter);
        assert!(e.message().contains("\"A\""));
        let e = p.required("CampaignId").unwrap_err();
        assert!(e.message().contains("\"CampaignId\""));
    }

    #[test]
    fn prefix_scan() {
        let p = Params::from_pairs([
            ("Page.Index", "1"),
            ("Page.Size", "5"),
            ("PageId", "x"),
            ("Pagf", "y"),
        ]);
        let got: Vec<_> = p.with_prefix("Page.").collect();
        assert_eq!(got, vec![("Page.Index", "1"), ("Page.Size", "5")]);
    }
}
