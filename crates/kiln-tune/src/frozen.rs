//! Trial records as storage keeps them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::distribution::{Distribution, ParamValue};

/// Where a trial is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    /// Enqueued with fixed parameters, not yet started.
    Waiting,
    /// Being evaluated.
    Running,
    /// Finished with a value.
    Complete,
    /// Stopped early by the pruner.
    Pruned,
    /// The objective returned an error or panicked, or its worker died.
    Failed,
}

impl TrialState {
    /// Whether the trial has ended.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TrialState::Complete | TrialState::Pruned | TrialState::Failed
        )
    }

    /// The lowercase name (`complete`, `pruned`, …).
    pub fn name(self) -> &'static str {
        match self {
            TrialState::Waiting => "waiting",
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed => "failed",
        }
    }
}

/// One sampled parameter: its distribution and internal value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Where it was drawn from.
    pub distribution: Distribution,
    /// The internal representation (index for categoricals).
    pub internal: f64,
}

impl Param {
    /// The value the objective saw.
    pub fn value(&self) -> ParamValue {
        self.distribution.to_external(self.internal)
    }
}

/// A trial's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrozenTrial {
    /// Storage id (unique across studies in one storage).
    pub id: u64,
    /// 0-based number within the study, in creation order.
    pub number: u64,
    /// Its state.
    pub state: TrialState,
    /// The objective value, when complete (in a multi-objective study, the first
    /// objective's).
    pub value: Option<f64>,
    /// Every objective's value, in the study's order, when a multi-objective trial completed;
    /// empty in a single-objective study (where [`value`](Self::value) is the one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// Parameters by name.
    pub params: BTreeMap<String, Param>,
    /// Fixed values an enqueued trial must use.
    pub fixed: BTreeMap<String, ParamValue>,
    /// Reported intermediate values by step.
    pub intermediate: BTreeMap<u64, f64>,
    /// Why it failed.
    pub error: Option<String>,
    /// How many earlier failed trials this one retries.
    pub retry_of: Option<u64>,
    /// Wall-clock seconds from start to finish.
    pub duration: Option<f64>,
}

impl FrozenTrial {
    /// A new running trial.
    pub fn new(id: u64, number: u64) -> Self {
        Self {
            id,
            number,
            state: TrialState::Running,
            value: None,
            values: Vec::new(),
            params: BTreeMap::new(),
            fixed: BTreeMap::new(),
            intermediate: BTreeMap::new(),
            error: None,
            retry_of: None,
            duration: None,
        }
    }

    /// The parameter values the objective saw.
    pub fn values(&self) -> BTreeMap<String, ParamValue> {
        self.params
            .iter()
            .map(|(k, p)| (k.clone(), p.value()))
            .collect()
    }

    /// The objective values: [`values`](Self::values) in a multi-objective study, else
    /// [`value`](Self::value) alone (empty when there is none).
    pub fn objective_values(&self) -> Vec<f64> {
        if self.values.is_empty() {
            self.value.into_iter().collect()
        } else {
            self.values.clone()
        }
    }

    /// The last reported step and value.
    pub fn last_step(&self) -> Option<(u64, f64)> {
        self.intermediate.iter().next_back().map(|(&s, &v)| (s, v))
    }
}
