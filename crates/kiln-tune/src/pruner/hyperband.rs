//! [`HyperbandPruner`]: ASHA brackets over a range of budgets.

use crate::direction::Direction;
use crate::error::{Result, invalid};
use crate::frozen::FrozenTrial;
use crate::pruner::successive_halving::bracket_of;
use crate::pruner::{Pruner, SuccessiveHalvingPruner};

/// Hyperband (Li et al. 2018) over ASHA brackets, as Optuna's `HyperbandPruner`: trials are
/// spread over `⌊log_η(max / min)⌋ + 1` brackets, bracket `s` starting its rungs at
/// `min_resource · η^s`; trials compete only within their bracket.
#[derive(Debug, Clone)]
pub struct HyperbandPruner {
    max_resource: u64,
    brackets: Vec<SuccessiveHalvingPruner>,
}

impl HyperbandPruner {
    /// Brackets for steps from `min_resource` to `max_resource` with reduction factor η
    /// (`1 ≤ min_resource ≤ max_resource`, η ≥ 2; checked when a study takes the pruner).
    pub fn new(min_resource: u64, max_resource: u64, reduction_factor: u64) -> Self {
        // Invalid settings are refused by `validate`; these floors only size the brackets.
        let eta = reduction_factor.max(2) as f64;
        let ratio = (max_resource.max(min_resource.max(1)) as f64) / min_resource.max(1) as f64;
        let n = (ratio.ln() / eta.ln() + 1e-9).floor() as usize + 1;
        let brackets = (0..n)
            .map(|s| {
                let mut p = SuccessiveHalvingPruner::new(min_resource, reduction_factor)
                    .with_min_early_stopping_rate(s as u32);
                p.bracket = Some((s, n));
                p
            })
            .collect();
        Self {
            max_resource,
            brackets,
        }
    }

    /// Brackets in use.
    pub fn n_brackets(&self) -> usize {
        self.brackets.len()
    }
}

impl Pruner for HyperbandPruner {
    fn validate(&self) -> Result<()> {
        self.brackets[0].check()?;
        let min_resource = self.brackets[0].min_resource();
        if self.max_resource < min_resource {
            return Err(invalid(
                "max_resource",
                format!(
                    "{} is below min_resource {min_resource}; pass the last step a trial reaches",
                    self.max_resource
                ),
            ));
        }
        Ok(())
    }

    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool {
        let index = bracket_of(trial.number, self.brackets.len());
        self.brackets[index].prune(direction, trials, trial)
    }
}
