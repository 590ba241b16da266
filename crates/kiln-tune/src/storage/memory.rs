//! Storage in the process's memory, shared by threads.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Storage;
use crate::direction::Direction;
use crate::distribution::{Distribution, ParamValue};
use crate::error::{Result, TuneError};
use crate::frozen::{FrozenTrial, Param, TrialState};

/// Studies in memory: fast, gone with the process.
#[derive(Debug, Default)]
pub struct InMemoryStorage {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    studies: Vec<(String, Vec<Direction>)>,
    /// Every trial, indexed by id, with its study, start and last heartbeat.
    trials: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    study: u64,
    trial: FrozenTrial,
    started: Option<Instant>,
    beat: Instant,
}

impl InMemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn entry(inner: &mut Inner, trial: u64) -> Result<&mut Entry> {
    inner
        .trials
        .get_mut(trial as usize)
        .ok_or_else(|| TuneError::TrialState(format!("no trial with id {trial}")))
}

impl Storage for InMemoryStorage {
    fn create_or_load_study(&self, name: &str, directions: &[Direction]) -> Result<u64> {
        super::check_directions(directions)?;
        let mut inner = self.lock();
        if let Some(i) = inner.studies.iter().position(|(n, _)| n == name) {
            if inner.studies[i].1 != directions {
                return Err(super::other_directions(
                    name,
                    Direction::join(&inner.studies[i].1),
                ));
            }
            return Ok(i as u64);
        }
        inner.studies.push((name.to_owned(), directions.to_vec()));
        Ok(inner.studies.len() as u64 - 1)
    }

    fn start_trial(&self, study: u64) -> Result<FrozenTrial> {
        let mut inner = self.lock();
        let now = Instant::now();
        if let Some(e) = inner
            .trials
            .iter_mut()
            .filter(|e| e.study == study && e.trial.state == TrialState::Waiting)
            .min_by_key(|e| e.trial.number)
        {
            e.trial.state = TrialState::Running;
            e.started = Some(now);
            e.beat = now;
            return Ok(e.trial.clone());
        }
        let number = inner.trials.iter().filter(|e| e.study == study).count() as u64;
        let id = inner.trials.len() as u64;
        let trial = FrozenTrial::new(id, number);
        inner.trials.push(Entry {
            study,
            trial: trial.clone(),
            started: Some(now),
            beat: now,
        });
        Ok(trial)
    }

    fn enqueue_trial(
        &self,
        study: u64,
        params: BTreeMap<String, ParamValue>,
        retry_of: Option<u64>,
    ) -> Result<()> {
        let mut inner = self.lock();
        let number = inner.trials.iter().filter(|e| e.study == study).count() as u64;
        let id = inner.trials.len() as u64;
        let mut trial = FrozenTrial::new(id, number);
        trial.state = TrialState::Waiting;
        trial.fixed = params;
        trial.retry_of = retry_of;
        inner.trials.push(Entry {
            study,
            trial,
            started: None,
            beat: Instant::now(),
        });
        Ok(())
    }

    fn set_param(
        &self,
        trial: u64,
        name: &str,
        distribution: &Distribution,
        internal: f64,
    ) -> Result<()> {
        let mut inner = self.lock();
        entry(&mut inner, trial)?.trial.params.insert(
            name.to_owned(),
            Param {
                distribution: distribution.clone(),
                internal,
            },
        );
        Ok(())
    }

    fn report(&self, trial: u64, step: u64, value: f64) -> Result<()> {
        let mut inner = self.lock();
        let e = entry(&mut inner, trial)?;
        e.trial.intermediate.insert(step, value);
        e.beat = Instant::now();
        Ok(())
    }

    fn finish_trial(
        &self,
        trial: u64,
        state: TrialState,
        values: &[f64],
        error: Option<String>,
    ) -> Result<()> {
        let mut inner = self.lock();
        let e = entry(&mut inner, trial)?;
        if e.trial.state != TrialState::Running {
            return Err(TuneError::TrialState(format!(
                "trial {} is {}, not running",
                e.trial.number,
                e.trial.state.name()
            )));
        }
        e.trial.state = state;
        e.trial.value = values.first().copied();
        e.trial.values = if values.len() > 1 {
            values.to_vec()
        } else {
            Vec::new()
        };
        e.trial.error = error;
        e.trial.duration = e.started.map(|s| s.elapsed().as_secs_f64());
        Ok(())
    }

    fn trials(&self, study: u64) -> Result<Vec<FrozenTrial>> {
        let inner = self.lock();
        let mut trials: Vec<FrozenTrial> = inner
            .trials
            .iter()
            .filter(|e| e.study == study)
            .map(|e| e.trial.clone())
            .collect();
        trials.sort_by_key(|t| t.number);
        Ok(trials)
    }

    fn trials_changed(
        &self,
        study: u64,
        after: Option<u64>,
        open: &[u64],
    ) -> Result<Vec<FrozenTrial>> {
        let inner = self.lock();
        // Ids are indices here: the new trials are a tail, the open ones direct lookups.
        let start = after.map_or(0, |a| a as usize + 1);
        let mut ids: Vec<usize> = open
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| i < start)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.extend(start..inner.trials.len());
        Ok(ids
            .into_iter()
            .filter_map(|i| inner.trials.get(i))
            .filter(|e| e.study == study)
            .map(|e| e.trial.clone())
            .collect())
    }

    fn heartbeat(&self, trial: u64) -> Result<()> {
        let mut inner = self.lock();
        entry(&mut inner, trial)?.beat = Instant::now();
        Ok(())
    }

    fn fail_stale_trials(&self, study: u64, grace: Duration) -> Result<Vec<u64>> {
        let mut inner = self.lock();
        let mut failed = Vec::new();
        for e in inner.trials.iter_mut().filter(|e| e.study == study) {
            if e.trial.state == TrialState::Running && e.beat.elapsed() > grace {
                e.trial.state = TrialState::Failed;
                e.trial.error = Some("no heartbeat: the worker died".into());
                failed.push(e.trial.number);
            }
        }
        Ok(failed)
    }
}
