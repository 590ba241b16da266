//! [`HyperbandPruner`]: ASHA brackets over a range of budgets.

use crate::direction::Direction;
use crate::error::{Result, invalid};
use crate::frozen::FrozenTrial;
use crate::pruner::successive_halving::{first_completed, longest_completed};
use crate::pruner::{Pruner, StudyView, SuccessiveHalvingPruner};

/// Hyperband (Li et al. 2018) over ASHA brackets, as Optuna's `HyperbandPruner`: trials are
/// spread over `⌊log_η(max / min)⌋ + 1` brackets, bracket `s` starting its rungs at
/// `min_resource · η^s`; trials compete only within their bracket. As in Optuna, a bracket
/// gets trials in proportion to its budget, `⌈n · η^(n−1−s) / (n − s)⌉` for `n` brackets, so
/// the aggressive brackets (many cheap trials) get most of them, and which trial goes where is
/// Optuna's hash of the study name and trial number (see [`with_seed`](Self::with_seed)).
///
/// [`default`](Self::default) is Optuna's: minimum resource 1, η = 3 and an automatic maximum
/// resource, the longest completed trial's last step + 1; until a trial has completed,
/// nothing is pruned.
#[derive(Debug, Clone)]
pub struct HyperbandPruner {
    min_resource: u64,
    /// `None`: estimated from the completed trials.
    max_resource: Option<u64>,
    reduction_factor: u64,
    /// `None`: trials go to brackets by Optuna's hash of the study name and trial number;
    /// `Some(seed)`: by a hash of the number mixed with `seed`.
    seed: Option<u64>,
}

impl Default for HyperbandPruner {
    fn default() -> Self {
        Self {
            min_resource: 1,
            max_resource: None,
            reduction_factor: 3,
            seed: None,
        }
    }
}

impl HyperbandPruner {
    /// Brackets for steps from `min_resource` to `max_resource` with reduction factor η
    /// (`1 ≤ min_resource ≤ max_resource`, η ≥ 2; checked when a study takes the pruner).
    pub fn new(min_resource: u64, max_resource: u64, reduction_factor: u64) -> Self {
        Self {
            min_resource,
            max_resource: Some(max_resource),
            reduction_factor,
            seed: None,
        }
    }

    /// Sets the step of the first rung of the most aggressive bracket (default 1).
    pub fn with_min_resource(mut self, min_resource: u64) -> Self {
        self.min_resource = min_resource;
        self
    }

    /// Sets the last step a trial reaches (default: automatic).
    pub fn with_max_resource(mut self, max_resource: u64) -> Self {
        self.max_resource = Some(max_resource);
        self
    }

    /// Sets η, the factor between rungs (default 3).
    pub fn with_reduction_factor(mut self, reduction_factor: u64) -> Self {
        self.reduction_factor = reduction_factor;
        self
    }

    /// Assigns trials to brackets by a hash of the trial number mixed with `seed` instead of
    /// the default, Optuna's: the CRC32 of `"{study name}_{number}"` (the same in every
    /// worker; [`Pruner::prune`] called outside a study hashes `"_{number}"`).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Brackets in use for a maximum resource of `max_resource`.
    pub(super) fn count(&self, max_resource: u64) -> usize {
        // Invalid settings are refused by `validate`; these floors only keep `prune` total.
        let (min, eta) = (
            self.min_resource.max(1),
            self.reduction_factor.max(2) as f64,
        );
        let ratio = max_resource.max(min) as f64 / min as f64;
        (ratio.ln() / eta.ln() + 1e-9).floor() as usize + 1
    }

    /// Brackets in use (`None` while the maximum resource is automatic).
    pub fn n_brackets(&self) -> Option<usize> {
        self.max_resource.map(|max| self.count(max))
    }

    /// Each of `n` brackets' share of the trials, Optuna's `⌈n · η^(n−1−s) / (n − s)⌉`.
    pub(super) fn budgets(&self, n: usize) -> Vec<u64> {
        let eta = self.reduction_factor.max(2) as f64;
        (0..n)
            .map(|i| {
                let s = (n - 1 - i) as i32;
                (n as f64 * eta.powi(s) / f64::from(s + 1)).ceil() as u64
            })
            .collect()
    }
}

/// Which bracket each trial of one study goes to: drawn in proportion to the brackets'
/// `budgets` by a hash every worker computes alike, Optuna's (the CRC32 of `"{name}_{number}"`
/// modulo the budgets' sum, so a study of the same name puts each trial in the same bracket as
/// Optuna would) or, with a `seed`, the number mixed with it.
pub(super) struct Brackets {
    /// The CRC32 state after `"{name}_"` (before the final inversion), shared by every number.
    prefix: u32,
    seed: Option<u64>,
    budgets: Vec<u64>,
    total: u64,
}

impl Brackets {
    pub(super) fn new(name: &str, seed: Option<u64>, budgets: Vec<u64>) -> Self {
        Self {
            prefix: crc32_update(crc32_update(!0, name.as_bytes()), b"_"),
            seed,
            total: budgets.iter().sum(),
            budgets,
        }
    }

    /// The bracket of trial `number`.
    pub(super) fn of(&self, number: u64) -> usize {
        let h = match self.seed {
            None => {
                // The number's decimal digits, without a `String` per trial.
                let mut digits = [0u8; 20];
                let mut start = digits.len();
                let mut n = number;
                loop {
                    start -= 1;
                    digits[start] = b'0' + (n % 10) as u8;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                u64::from(!crc32_update(self.prefix, &digits[start..]))
            }
            Some(seed) => hash(number ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        };
        let mut h = h % self.total;
        for (i, &b) in self.budgets.iter().enumerate() {
            if h < b {
                return i;
            }
            h -= b;
        }
        self.budgets.len() - 1
    }
}

/// CRC-32 (IEEE 802.3, reflected, as Python's `binascii.crc32` and zlib compute it).
#[cfg(test)]
fn crc32(bytes: &[u8]) -> u32 {
    !crc32_update(!0, bytes)
}

/// CRC-32's running state after `bytes` (start from `!0`, invert at the end).
fn crc32_update(crc: u32, bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    bytes.iter().fold(crc, |c, &b| {
        TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// A deterministic mix of a trial number (SplitMix64's finalizer).
fn hash(number: u64) -> u64 {
    let mut x = number.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Pruner for HyperbandPruner {
    fn validate(&self) -> Result<()> {
        SuccessiveHalvingPruner::new(self.min_resource, self.reduction_factor).check()?;
        if let Some(max) = self.max_resource
            && max < self.min_resource
        {
            return Err(invalid(
                "max_resource",
                format!(
                    "{max} is below min_resource {}; pass the last step a trial reaches",
                    self.min_resource
                ),
            ));
        }
        Ok(())
    }

    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool {
        let completed = (longest_completed(trials), first_completed(trials));
        self.decide(direction, "", trials, completed, trial)
    }

    /// As [`prune`](Pruner::prune), with the completed trials' longest run and first number
    /// from the study's index: only a report at a rung reads the trials.
    fn prune_view(&self, direction: Direction, study: &StudyView<'_>, trial: &FrozenTrial) -> bool {
        let completed = (study.longest_completed(), study.first_completed());
        self.decide(direction, study.name(), study.trials(), completed, trial)
    }
}

impl HyperbandPruner {
    /// The decision for `trial` of the study called `name`; `completed` is the longest
    /// completed trial's last step and the first completed trial's number.
    fn decide(
        &self,
        direction: Direction,
        name: &str,
        trials: &[FrozenTrial],
        (longest, first): (Option<u64>, Option<u64>),
        trial: &FrozenTrial,
    ) -> bool {
        let Some(max) = self.max_resource.or_else(|| longest.map(|s| s + 1)) else {
            return false;
        };
        let brackets = Brackets::new(name, self.seed, self.budgets(self.count(max)));
        let bracket = brackets.of(trial.number);
        let asha = SuccessiveHalvingPruner::new(self.min_resource, self.reduction_factor)
            .with_min_early_stopping_rate(bracket as u32);
        let same = trials.iter().filter(|t| brackets.of(t.number) == bracket);
        let floor = self.max_resource.is_none().then_some(first).flatten();
        asha.prune_among(direction, same, trial, longest, floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_are_assigned_by_optunas_hash() {
        // Python: binascii.crc32(b"123456789"), b"pruning_0", b"pruning_17".
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b"pruning_0"), 1_841_883_566);
        assert_eq!(crc32(b"pruning_17"), 1_118_256_581);
        // Optuna's default Hyperband over 100 steps: 5 brackets, budgets 81, 34, 15, 8, 5.
        let budgets = HyperbandPruner::default().budgets(5);
        assert_eq!(budgets, [81, 34, 15, 8, 5]);
        // 1,841,883,566 mod 143 = 94 (81 ≤ 94 < 115: bracket 1); 1,118,256,581 mod 143 = 13
        // (bracket 0). Optuna 5.1's `HyperbandPruner(1, 101, 3)._get_bracket_id` on a study
        // named "pruning" gives the same: 1 for trial 0, 0 for trial 17.
        let brackets = Brackets::new("pruning", None, budgets);
        assert_eq!(brackets.of(0), 1);
        assert_eq!(brackets.of(17), 0);
    }
}
