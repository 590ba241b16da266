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
    /// `value` oriented so that lower is better.
    pub fn loss(self, value: f64) -> f64 {
        match self {
            Direction::Minimize => value,
            Direction::Maximize => -value,
        }
    }
}
