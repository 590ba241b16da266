//! The direction of optimization.

use serde::{Deserialize, Serialize};

/// Whether lower or higher objective values are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Lower is better (losses, regret).
    Minimize,
    /// Higher is better (accuracy).
    Maximize,
}

impl Direction {
    /// `minimize` or `maximize`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Minimize => "minimize",
            Direction::Maximize => "maximize",
        }
    }

    /// Several directions as storages and run tags record them: their names joined by commas
    /// (`maximize,minimize`; one direction is just its name).
    pub fn join(directions: &[Direction]) -> String {
        directions
            .iter()
            .map(|d| d.name())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `value` oriented so that lower is better.
    pub fn loss(self, value: f64) -> f64 {
        match self {
            Direction::Minimize => value,
            Direction::Maximize => -value,
        }
    }
}

impl std::str::FromStr for Direction {
    type Err = crate::error::TuneError;

    /// `minimize` or `maximize`.
    fn from_str(s: &str) -> crate::error::Result<Self> {
        match s {
            "minimize" => Ok(Direction::Minimize),
            "maximize" => Ok(Direction::Maximize),
            other => Err(crate::error::invalid(
                "direction",
                format!("`{other}` is not a direction; use minimize or maximize"),
            )),
        }
    }
}
