//! What an objective returns: one value, or one per objective of a multi-objective study.

/// An objective's result: `f64` for a single-objective study; `[f64; N]`, `Vec<f64>` or a
/// tuple of `f64`s for a study with several objectives (one value each, in the order of the
/// study's directions).
pub trait Objectives {
    /// The values, in objective order.
    fn into_values(self) -> Vec<f64>;
}

impl Objectives for f64 {
    fn into_values(self) -> Vec<f64> {
        vec![self]
    }
}

impl Objectives for Vec<f64> {
    fn into_values(self) -> Vec<f64> {
        self
    }
}

impl<const N: usize> Objectives for [f64; N] {
    fn into_values(self) -> Vec<f64> {
        self.to_vec()
    }
}

impl Objectives for (f64, f64) {
    fn into_values(self) -> Vec<f64> {
        vec![self.0, self.1]
    }
}

impl Objectives for (f64, f64, f64) {
    fn into_values(self) -> Vec<f64> {
        vec![self.0, self.1, self.2]
    }
}
