//! Parameter distributions and values.
//!
//! Every value has an internal representation as `f64`, which samplers work in: the value for
//! floats and integers, the index of the choice for categoricals.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};

/// A parameter value as the objective sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A real number.
    Float(f64),
    /// A string (categorical choices).
    Str(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Str(s) => write!(f, "{s}"),
        }
    }
}

impl ParamValue {
    /// The value as `f64` (floats and integers).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::Float(x) => Some(*x),
            ParamValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The value as `i64` (integers, and floats with no fraction).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ParamValue::Int(i) => Some(*i),
            ParamValue::Float(x) if x.fract() == 0.0 => Some(*x as i64),
            _ => None,
        }
    }
}

impl From<f64> for ParamValue {
    fn from(x: f64) -> Self {
        ParamValue::Float(x)
    }
}
impl From<i64> for ParamValue {
    fn from(i: i64) -> Self {
        ParamValue::Int(i)
    }
}
impl From<bool> for ParamValue {
    fn from(b: bool) -> Self {
        ParamValue::Bool(b)
    }
}
impl From<&str> for ParamValue {
    fn from(s: &str) -> Self {
        ParamValue::Str(s.to_owned())
    }
}
impl From<String> for ParamValue {
    fn from(s: String) -> Self {
        ParamValue::Str(s)
    }
}

/// Where a parameter's values come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Distribution {
    /// Reals in `[low, high]`, optionally log-uniform or on a grid of `step`.
    Float {
        /// Lower bound.
        low: f64,
        /// Upper bound (inclusive).
        high: f64,
        /// Sample uniformly in log space (`low > 0`).
        #[serde(default)]
        log: bool,
        /// Only multiples of `step` above `low`.
        #[serde(default)]
        step: Option<f64>,
    },
    /// Integers in `[low, high]`, optionally log-uniform or every `step`.
    Int {
        /// Lower bound.
        low: i64,
        /// Upper bound (inclusive).
        high: i64,
        /// Sample uniformly in log space (`low ≥ 1`).
        #[serde(default)]
        log: bool,
        /// Only `low + k · step`.
        #[serde(default = "one")]
        step: i64,
    },
    /// One of a list of values.
    Categorical {
        /// The choices.
        choices: Vec<ParamValue>,
    },
}

fn one() -> i64 {
    1
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => {
                write!(f, "float [{low}, {high}]")?;
                if *log {
                    write!(f, " log")?;
                }
                if let Some(s) = step {
                    write!(f, " step {s}")?;
                }
                Ok(())
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                write!(f, "int [{low}, {high}]")?;
                if *log {
                    write!(f, " log")?;
                }
                if *step != 1 {
                    write!(f, " step {step}")?;
                }
                Ok(())
            }
            Distribution::Categorical { choices } => {
                let c: Vec<String> = choices.iter().map(ToString::to_string).collect();
                write!(f, "categorical {{{}}}", c.join(", "))
            }
        }
    }
}

impl Distribution {
    /// Checks bounds, steps and choices; `name` is used in the error.
    pub fn validate(&self, name: &str) -> Result<()> {
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => {
                if !(low.is_finite() && high.is_finite()) || low > high {
                    return Err(invalid(
                        name,
                        format!("bounds [{low}, {high}] are not a range"),
                    ));
                }
                if *log && *low <= 0.0 {
                    return Err(invalid(name, format!("log scale needs low > 0, got {low}")));
                }
                if let Some(s) = step {
                    if !(*s > 0.0 && s.is_finite()) {
                        return Err(invalid(name, format!("step {s} is not positive")));
                    }
                    if *log {
                        return Err(invalid(name, "a float cannot have both log and step"));
                    }
                }
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                if low > high {
                    return Err(invalid(
                        name,
                        format!("bounds [{low}, {high}] are not a range"),
                    ));
                }
                if *step < 1 {
                    return Err(invalid(name, format!("step {step} is below 1")));
                }
                if *log && (*low < 1 || *step != 1) {
                    return Err(invalid(name, "log scale needs low ≥ 1 and step 1"));
                }
            }
            Distribution::Categorical { choices } => {
                if choices.is_empty() {
                    return Err(invalid(name, "needs at least one choice"));
                }
            }
        }
        Ok(())
    }

    /// The external value of an internal representation.
    pub fn to_external(&self, internal: f64) -> ParamValue {
        match self {
            Distribution::Float { .. } => ParamValue::Float(internal),
            Distribution::Int { .. } => ParamValue::Int(internal.round() as i64),
            Distribution::Categorical { choices } => {
                let i = (internal.round().max(0.0) as usize).min(choices.len() - 1);
                choices[i].clone()
            }
        }
    }

    /// The internal representation of a value, when the distribution contains it.
    pub fn to_internal(&self, value: &ParamValue) -> Option<f64> {
        let internal = match self {
            Distribution::Float { .. } => value.as_f64()?,
            Distribution::Int { .. } => value.as_i64()? as f64,
            Distribution::Categorical { choices } => {
                choices.iter().position(|c| c == value)? as f64
            }
        };
        self.contains(internal).then_some(internal)
    }

    /// Whether an internal value lies in the distribution.
    pub fn contains(&self, internal: f64) -> bool {
        match self {
            Distribution::Float {
                low, high, step, ..
            } => {
                let inside = *low <= internal && internal <= *high;
                match step {
                    Some(s) => {
                        inside
                            && (((internal - low) / s).round() * s + low - internal).abs()
                                < 1e-8 * s.max(1.0)
                    }
                    None => inside,
                }
            }
            Distribution::Int {
                low, high, step, ..
            } => {
                let v = internal as i64;
                internal.fract() == 0.0 && *low <= v && v <= *high && (v - low) % step == 0
            }
            Distribution::Categorical { choices } => {
                internal.fract() == 0.0 && internal >= 0.0 && (internal as usize) < choices.len()
            }
        }
    }

    /// Whether the distribution holds exactly one value.
    pub fn is_single(&self) -> bool {
        match self {
            Distribution::Float {
                low, high, step, ..
            } => low == high || step.is_some_and(|s| high - low < s),
            Distribution::Int {
                low, high, step, ..
            } => high - low < *step,
            Distribution::Categorical { choices } => choices.len() == 1,
        }
    }

    /// Whether samplers should work in log space.
    pub fn is_log(&self) -> bool {
        matches!(
            self,
            Distribution::Float { log: true, .. } | Distribution::Int { log: true, .. }
        )
    }

    /// Snaps a continuous internal value onto the distribution (steps, integers, bounds).
    pub fn snap(&self, internal: f64) -> f64 {
        match self {
            Distribution::Float {
                low, high, step, ..
            } => {
                let v = match step {
                    Some(s) => {
                        let k = ((internal - low) / s).round();
                        let max_k = ((high - low) / s + 1e-9).floor();
                        low + k.clamp(0.0, max_k) * s
                    }
                    None => internal,
                };
                v.clamp(*low, *high)
            }
            Distribution::Int {
                low, high, step, ..
            } => {
                let k = ((internal - *low as f64) / *step as f64).round();
                let max_k = ((high - low) / step) as f64;
                *low as f64 + k.clamp(0.0, max_k) * *step as f64
            }
            Distribution::Categorical { choices } => {
                internal.round().clamp(0.0, (choices.len() - 1) as f64)
            }
        }
    }

    /// The continuous range samplers draw from, in their working space (log for log
    /// distributions; integers and steps widened by half a step so every value has equal mass).
    pub(crate) fn working_range(&self) -> (f64, f64) {
        match self {
            Distribution::Float {
                low,
                high,
                log: true,
                ..
            } => (low.ln(), high.ln()),
            Distribution::Float {
                low,
                high,
                step: Some(s),
                ..
            } => {
                let max_k = ((high - low) / s + 1e-9).floor();
                (low - s / 2.0, low + max_k * s + s / 2.0)
            }
            Distribution::Float { low, high, .. } => (*low, *high),
            Distribution::Int {
                low,
                high,
                log: true,
                ..
            } => ((*low as f64 - 0.5).ln(), (*high as f64 + 0.5).ln()),
            Distribution::Int {
                low, high, step, ..
            } => {
                let max_k = (high - low) / step;
                (
                    *low as f64 - *step as f64 / 2.0,
                    (*low + max_k * step) as f64 + *step as f64 / 2.0,
                )
            }
            Distribution::Categorical { choices } => (0.0, choices.len() as f64),
        }
    }

    /// Working-space value → internal value (snapped).
    pub(crate) fn working_to_internal(&self, w: f64) -> f64 {
        let x = if self.is_log() { w.exp() } else { w };
        self.snap(x)
    }

    /// Internal value → working-space value.
    pub(crate) fn to_working(&self, internal: f64) -> f64 {
        if self.is_log() {
            internal.ln()
        } else {
            internal
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_values_round_trip_and_snap() {
        let d = Distribution::Int {
            low: 2,
            high: 10,
            log: false,
            step: 2,
        };
        assert!(d.contains(4.0) && !d.contains(5.0) && !d.contains(12.0));
        assert_eq!(d.snap(5.2), 6.0);
        assert_eq!(d.snap(100.0), 10.0);
        let c = Distribution::Categorical {
            choices: vec!["a".into(), "b".into()],
        };
        assert_eq!(c.to_internal(&"b".into()), Some(1.0));
        assert_eq!(c.to_external(0.0), ParamValue::Str("a".into()));
        let f = Distribution::Float {
            low: 0.0,
            high: 1.0,
            log: false,
            step: Some(0.25),
        };
        assert_eq!(f.snap(0.3), 0.25);
        assert!(f.contains(0.75) && !f.contains(0.7));
        let bad = Distribution::Float {
            low: 0.0,
            high: 1.0,
            log: true,
            step: None,
        };
        assert!(bad.validate("lr").unwrap_err().to_string().contains("`lr`"));
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Distribution>(&json).unwrap(), d);
    }
}
