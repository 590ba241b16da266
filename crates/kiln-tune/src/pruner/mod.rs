//! Pruners: stop unpromising trials early, from their reported intermediate values.

mod hyperband;
mod median;
mod nop;
mod percentile;
mod successive_halving;
mod view;

pub use hyperband::HyperbandPruner;
pub use median::MedianPruner;
pub use nop::NopPruner;
pub use percentile::PercentilePruner;
pub use successive_halving::SuccessiveHalvingPruner;
pub(crate) use view::StepIndex;
pub use view::StudyView;

use crate::direction::Direction;
use crate::error::Result;
use crate::frozen::FrozenTrial;

/// Decides whether a running trial should stop, given every trial of the study.
pub trait Pruner: Send + Sync {
    /// Whether `trial` (running, with its latest report) should be pruned.
    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool;

    /// The same decision from a study's [`StudyView`], which a study keeps indexed as trials
    /// complete; what [`Trial::should_prune`](crate::Trial::should_prune) calls. The default
    /// asks [`prune`](Self::prune) with the view's trials; the median and percentile pruners
    /// read the index instead, so their answer does not grow with the study.
    fn prune_view(&self, direction: Direction, study: &StudyView<'_>, trial: &FrozenTrial) -> bool {
        self.prune(direction, study.trials(), trial)
    }

    /// Checks the pruner's settings; a study refuses a pruner whose settings are invalid
    /// ([`TuneError::Invalid`](crate::TuneError::Invalid) names the setting), so none is
    /// silently clamped.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

impl<P: Pruner + ?Sized> Pruner for Box<P> {
    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool {
        (**self).prune(direction, trials, trial)
    }

    fn prune_view(&self, direction: Direction, study: &StudyView<'_>, trial: &FrozenTrial) -> bool {
        (**self).prune_view(direction, study, trial)
    }

    fn validate(&self) -> Result<()> {
        (**self).validate()
    }
}

impl<P: Pruner + ?Sized> Pruner for std::sync::Arc<P> {
    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool {
        (**self).prune(direction, trials, trial)
    }

    fn prune_view(&self, direction: Direction, study: &StudyView<'_>, trial: &FrozenTrial) -> bool {
        (**self).prune_view(direction, study, trial)
    }

    fn validate(&self) -> Result<()> {
        (**self).validate()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::frozen::{FrozenTrial, TrialState};

    /// A trial in `state` that reported `values` at steps 1, 2, ….
    pub(crate) fn trial(id: u64, state: TrialState, values: &[f64]) -> FrozenTrial {
        let mut t = FrozenTrial::new(id, id);
        t.state = state;
        for (s, &v) in values.iter().enumerate() {
            t.intermediate.insert(s as u64 + 1, v);
        }
        t
    }
}
