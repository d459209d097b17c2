//! Load-time errors. Each names the policy, the statement (0-based, `Statement[2]`) and the key
//! at fault, so an operator can fix the document from the message alone.

use crate::condition::{Operator, ValueProblem};

/// A policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy `{policy}`: {kind}")]
pub struct PolicyError {
    /// The name the document was loaded under.
    pub policy: String,
    pub kind: PolicyErrorKind,
}

impl PolicyError {
    /// The 0-based index of the offending statement, when the problem lies inside one.
    pub fn statement_index(&self) -> Option<usize> {
        use PolicyErrorKind::*;
        match &self.kind {
            InvalidJson(_)
            | NotAnObject
            | UnknownTopLevelKey(_)
            | MissingVersion
            | InvalidVersion(_)
            | MissingStatement
            | StatementNotList => None,
            DuplicateKey { statement, .. } => *statement,
            StatementNotObject { statement }
            | UnknownStatementKey { statement, .. }
            | MissingEffect { statement }
            | InvalidEffect { statement }
            | BothForms { statement, .. }
            | NeitherForm { statement, .. }
            | EmptyList { statement, .. }
            | NotStrings { statement, .. }
            | ItemNotString { statement, .. }
            | InvalidAction { statement, .. }
            | EmptyResource { statement, .. }
            | ConditionNotObject { statement }
            | UnknownOperator { statement, .. }
            | OperatorNotObject { statement, .. }
            | EmptyConditionKey { statement, .. }
            | EmptyValueList { statement, .. }
            | ValueNotScalar { statement, .. }
            | InvalidValue { statement, .. } => Some(*statement),
        }
    }
}

/// What is wrong, and where.
///
/// `element` fields hold the document's element name: `Action`, `NotAction`, `Resource` or
/// `NotResource` (for `BothForms`/`NeitherForm`: `Action` or `Resource`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("document must be a JSON object")]
    NotAnObject,
    /// `path` is where the object with the repeated key sits (empty for the top level).
    #[error("{}duplicate key `{key}`", location_prefix(.path))]
    DuplicateKey {
        path: String,
        statement: Option<usize>,
        key: String,
    },
    #[error("unknown top-level key `{0}`")]
    UnknownTopLevelKey(String),
    #[error("missing Version")]
    MissingVersion,
    /// Holds the JSON text that was found instead.
    #[error("Version must be \"1\", found {0}")]
    InvalidVersion(String),
    #[error("missing Statement")]
    MissingStatement,
    #[error("Statement must be a list of statements")]
    StatementNotList,
    #[error("Statement[{statement}] must be an object")]
    StatementNotObject { statement: usize },
    #[error("Statement[{statement}]: unknown key `{key}`")]
    UnknownStatementKey { statement: usize, key: String },
    #[error("Statement[{statement}]: missing Effect")]
    MissingEffect { statement: usize },
    #[error("Statement[{statement}].Effect must be \"Allow\" or \"Deny\"")]
    InvalidEffect { statement: usize },
    #[error("Statement[{statement}]: both {element} and Not{element}")]
    BothForms {
        statement: usize,
        element: &'static str,
    },
    #[error("Statement[{statement}]: neither {element} nor Not{element}")]
    NeitherForm {
        statement: usize,
        element: &'static str,
    },
    #[error("Statement[{statement}]: {element} list is empty")]
    EmptyList {
        statement: usize,
        element: &'static str,
    },
    #[error("Statement[{statement}].{element} must be a string or a list of strings")]
    NotStrings {
        statement: usize,
        element: &'static str,
    },
    #[error("Statement[{statement}].{element}[{index}] must be a string")]
    ItemNotString {
        statement: usize,
        element: &'static str,
        index: usize,
    },
    /// `index` is `None` when the element was a single string.
    #[error(
        "{}: invalid action `{value}` (expected `service:Action` or `*`)",
        item_path(.statement, .element, .index)
    )]
    InvalidAction {
        statement: usize,
        element: &'static str,
        index: Option<usize>,
        value: String,
    },
    #[error("{}: empty resource", item_path(.statement, .element, .index))]
    EmptyResource {
        statement: usize,
        element: &'static str,
        index: Option<usize>,
    },
    #[error("Statement[{statement}].Condition must be an object")]
    ConditionNotObject { statement: usize },
    #[error("Statement[{statement}]: unknown condition operator `{operator}`")]
    UnknownOperator { statement: usize, operator: String },
    #[error("Statement[{statement}].Condition.{operator} must be an object")]
    OperatorNotObject {
        statement: usize,
        operator: Operator,
    },
    #[error("Statement[{statement}].Condition.{operator}: empty condition key")]
    EmptyConditionKey {
        statement: usize,
        operator: Operator,
    },
    #[error("Statement[{statement}].Condition.{operator}.{key}: value list is empty")]
    EmptyValueList {
        statement: usize,
        operator: Operator,
        key: String,
    },
    #[error("Statement[{statement}].Condition.{operator}.{key}: values must be strings, numbers or booleans")]
    ValueNotScalar {
        statement: usize,
        operator: Operator,
        key: String,
    },
    #[error("Statement[{statement}].Condition.{operator}.{key}: {problem}")]
    InvalidValue {
        statement: usize,
        operator: Operator,
        key: String,
        problem: ValueProblem,
    },
}

fn location_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

fn item_path(statement: &usize, element: &str, index: &Option<usize>) -> String {
    match index {
        Some(index) => format!("Statement[{statement}].{element}[{index}]"),
        None => format!("Statement[{statement}].{element}"),
    }
}
