//! [`ColumnType`]: the type of a column.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The type of a column, as inferred from a CSV or declared by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// 64-bit signed integers.
    Integer,
    /// 64-bit floats.
    Float,
    /// `true`/`false` values.
    Boolean,
    /// A small set of distinct strings, stored as codes.
    Categorical,
    /// Free text.
    Text,
}

impl ColumnType {
    /// Whether values of this type are numbers (integer or float).
    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Integer | Self::Float)
    }

    /// The name used in schemas, errors and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Integer => "integer",
            Self::Float => "float",
            Self::Boolean => "boolean",
            Self::Categorical => "categorical",
            Self::Text => "text",
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
