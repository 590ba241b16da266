//! Table schemas: named, typed columns.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::column_type::ColumnType;
use crate::error::{DataError, Result};

/// One named, typed column of a schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// The column name from the header.
    pub name: String,
    /// The column type.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
}

impl Field {
    /// A field named `name` of type `column_type`.
    pub fn new(name: impl Into<String>, column_type: ColumnType) -> Self {
        Self {
            name: name.into(),
            column_type,
        }
    }
}

/// The ordered, named and typed columns of a table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Schema {
    fields: Vec<Field>,
}

impl Schema {
    /// A schema from its fields, rejecting duplicate names.
    pub fn new(fields: Vec<Field>) -> Result<Self> {
        for (i, field) in fields.iter().enumerate() {
            if let Some(j) = fields[..i].iter().position(|f| f.name == field.name) {
                return Err(DataError::config(
                    "schema",
                    format!(
                        "column `{}` appears twice (fields {} and {})",
                        field.name,
                        j + 1,
                        i + 1
                    ),
                ));
            }
        }
        Ok(Self { fields })
    }

    /// The fields in column order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the schema has no columns.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The position of the column called `name`.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| DataError::UnknownColumn {
                column: name.to_owned(),
                available: self.names().join(", "),
            })
    }

    /// The column names in order.
    pub fn names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.fields.iter().map(|x| x.name.len()).max().unwrap_or(0);
        for field in &self.fields {
            writeln!(f, "  {:<width$}  {}", field.name, field.column_type)?;
        }
        Ok(())
    }
}
