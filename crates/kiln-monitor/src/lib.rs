//! Kiln's monitoring: drift statistics between training data and live data, drift reports,
//! monitors over prediction streams, and fairness metrics. No Burn dependency.

mod error;
mod kolmogorov;
mod sample;
mod sort;
mod stats;

pub use error::{MonitorError, Result};
pub use sample::Sample;
pub use stats::{
    Bins, ChiSquaredTest, KsMethod, KsTest, PSI_EPSILON, chi2_contingency, jensen_shannon_distance,
    ks_2samp, ks_samples, psi, wasserstein_distance, wasserstein_samples,
};
