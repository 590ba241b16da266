//! Declarative search spaces: a map of names to distributions, from TOML or JSON.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::distribution::{Distribution, ParamValue};
use crate::error::{Result, TuneError};
use crate::trial::Trial;

/// A fixed search space, for configs and command lines:
///
/// ```toml
/// [lr]
/// type = "float"
/// low = 1e-5
/// high = 0.1
/// log = true
///
/// [hidden]
/// type = "int"
/// low = 32
/// high = 512
/// log = true
///
/// [optimizer]
/// type = "categorical"
/// choices = ["adam", "sgd"]
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SearchSpace {
    /// Distributions by parameter name.
    pub params: BTreeMap<String, Distribution>,
}

impl SearchSpace {
    /// Parses TOML and checks every distribution.
    pub fn from_toml(text: &str) -> Result<Self> {
        let space: Self = toml::from_str(text).map_err(|e| TuneError::SpaceFile {
            path: "<toml>".into(),
            reason: e.to_string(),
        })?;
        space.validate()?;
        Ok(space)
    }

    /// Parses JSON and checks every distribution.
    pub fn from_json(text: &str) -> Result<Self> {
        let space: Self = serde_json::from_str(text).map_err(|e| TuneError::SpaceFile {
            path: "<json>".into(),
            reason: e.to_string(),
        })?;
        space.validate()?;
        Ok(space)
    }

    /// Reads a `.toml` or `.json` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| TuneError::SpaceFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            Self::from_json(&text)
        } else {
            Self::from_toml(&text)
        };
        parsed.map_err(|e| match e {
            TuneError::SpaceFile { reason, .. } => TuneError::SpaceFile {
                path: path.display().to_string(),
                reason,
            },
            other => other,
        })
    }

    /// Checks every distribution.
    pub fn validate(&self) -> Result<()> {
        for (name, d) in &self.params {
            d.validate(name)?;
        }
        Ok(())
    }

    /// Suggests every parameter in `trial`.
    pub fn suggest_all(&self, trial: &mut Trial) -> Result<BTreeMap<String, ParamValue>> {
        self.params
            .iter()
            .map(|(name, d)| Ok((name.clone(), trial.suggest(name, d)?)))
            .collect()
    }
}
