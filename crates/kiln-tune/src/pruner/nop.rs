//! [`NopPruner`]: never prunes.

use crate::direction::Direction;
use crate::frozen::FrozenTrial;
use crate::pruner::Pruner;

/// Never prunes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NopPruner;

impl Pruner for NopPruner {
    fn prune(&self, _: Direction, _: &[FrozenTrial], _: &FrozenTrial) -> bool {
        false
    }
}
