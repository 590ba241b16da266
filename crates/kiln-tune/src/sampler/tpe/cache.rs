//! The per-sampler cache of finished trials' parameters, checked by id, state, value and
//! count.

use crate::distribution::Distribution;
use crate::frozen::{FrozenTrial, TrialState};

/// Parameters read from finished trials, kept between calls. A finished trial's parameters
/// never change, so each trial's map is walked once (its names matched to a key set, its
/// distributions to a variant, its values copied); later calls only check that the trial with
/// that number is still the same one (id, state, value and parameter count).
#[derive(Default)]
pub(super) struct ParamCache {
    /// By trial number.
    pub(super) by_number: Vec<Option<Cached>>,
    pub(super) keysets: Vec<CachedKeySet>,
    /// Internal values, trial after trial.
    pub(super) values: Vec<f64>,
    /// Entries read again (another history) since the last clear.
    pub(super) stale: usize,
    /// The last multi-objective split, for the next parameter of the same trial.
    pub(super) front: std::cell::RefCell<FrontMemo>,
}

/// A multi-objective split's input (the complete trials' ids in row order and how many to
/// pick) and the positions it picked. Independent TPE splits once per parameter, and the
/// parameters every trial has give the same input: the hypervolume subset is chosen once.
#[derive(Default)]
pub(super) struct FrontMemo {
    pub(super) ids: Vec<u64>,
    pub(super) n_below: usize,
    pub(super) chosen: Vec<usize>,
}

/// What the cache knows of one trial.
#[derive(Clone, Copy)]
pub(super) struct Cached {
    pub(super) id: u64,
    pub(super) state: TrialState,
    pub(super) value: Option<u64>,
    pub(super) len: usize,
    pub(super) keyset: u32,
    pub(super) variant: u32,
    pub(super) start: u32,
}

/// A set of parameter names (in order) and the distinct distribution lists seen with it.
pub(super) struct CachedKeySet {
    pub(super) names: Vec<String>,
    pub(super) variants: Vec<Vec<Distribution>>,
}

impl ParamCache {
    /// Starts over when most of what is kept belongs to other histories.
    pub(super) fn tidy(&mut self) {
        if self.stale > self.by_number.len().max(1024) || self.values.len() > u32::MAX as usize / 2
        {
            *self = Self::default();
        }
    }

    /// `t`'s key set, distribution variant and where its values start. Trial numbers from
    /// `limit` on (far beyond the history's length: not a study's 0-based numbering) are read
    /// every time instead of kept, so the table by number stays as long as the history.
    pub(super) fn read(&mut self, t: &FrozenTrial, limit: u64) -> (u32, u32, u32) {
        let value = t.value.map(f64::to_bits);
        let slot = (t.number < limit).then_some(t.number as usize);
        if let Some(Some(c)) = slot.and_then(|n| self.by_number.get(n))
            && c.id == t.id
            && c.state == t.state
            && c.value == value
            && c.len == t.params.len()
        {
            return (c.keyset, c.variant, c.start);
        }
        self.stale += 1;
        let keyset = match self.keysets.iter().position(|k| {
            k.names.len() == t.params.len()
                && k.names.iter().zip(t.params.keys()).all(|(a, b)| a == b)
        }) {
            Some(k) => k,
            None => {
                self.keysets.push(CachedKeySet {
                    names: t.params.keys().cloned().collect(),
                    variants: Vec::new(),
                });
                self.keysets.len() - 1
            }
        };
        let variants = &mut self.keysets[keyset].variants;
        let variant = match variants.iter().position(|v| {
            v.iter()
                .zip(t.params.values())
                .all(|(d, p)| *d == p.distribution)
        }) {
            Some(v) => v,
            None => {
                variants.push(t.params.values().map(|p| p.distribution.clone()).collect());
                variants.len() - 1
            }
        };
        let start = self.values.len() as u32;
        self.values.extend(t.params.values().map(|p| p.internal));
        let cached = Cached {
            id: t.id,
            state: t.state,
            value,
            len: t.params.len(),
            keyset: keyset as u32,
            variant: variant as u32,
            start,
        };
        if let Some(n) = slot {
            if self.by_number.len() <= n {
                self.by_number.resize(n + 1, None);
            }
            if self.by_number[n].is_none() {
                self.stale -= 1;
            }
            self.by_number[n] = Some(cached);
        }
        (cached.keyset, cached.variant, cached.start)
    }
}
