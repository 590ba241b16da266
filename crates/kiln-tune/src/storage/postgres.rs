//! A PostgreSQL storage that workers on many machines share.
//!
//! What goes wrong with shared RDB studies (Optuna's tracker is the catalogue) and what this
//! does about it:
//! - duplicate trial numbers: a trial's number is assigned inside the transaction that creates
//!   it, under a row lock on its study, so creations within a study take turns;
//! - "trial has already finished" races: a trial is finished only from `running`
//!   (`UPDATE … WHERE state = 'running'`), so a second finish, or one after a stale-trial check
//!   failed it, is an error, never a silent overwrite;
//! - zombie `running` trials: heartbeats, and [`Storage::fail_stale_trials`] as in SQLite;
//! - connection leaks and dropped connections: one connection per storage, reopened (and the
//!   call retried once) when the server closed it;
//! - one query per trial: [`Storage::trials`] reads a study in one round trip (parameters and
//!   intermediate values aggregated per trial as JSON).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use postgres::{Client, NoTls};
use serde_json::Value;

use super::{Storage, now, other_directions, started_trial, state_of};
use crate::direction::Direction;
use crate::distribution::{Distribution, ParamValue};
use crate::error::{Result, TuneError, storage};
use crate::frozen::{FrozenTrial, Param, TrialState};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kiln_studies (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kiln_trials (
    id BIGSERIAL PRIMARY KEY,
    study_id BIGINT NOT NULL REFERENCES kiln_studies(id),
    number BIGINT NOT NULL,
    state TEXT NOT NULL,
    value DOUBLE PRECISION,
    error TEXT,
    retry_of BIGINT,
    fixed TEXT NOT NULL DEFAULT '{}',
    started DOUBLE PRECISION,
    finished DOUBLE PRECISION,
    heartbeat DOUBLE PRECISION,
    UNIQUE (study_id, number)
);
CREATE INDEX IF NOT EXISTS kiln_trials_state ON kiln_trials (study_id, state);
CREATE TABLE IF NOT EXISTS kiln_params (
    trial_id BIGINT NOT NULL REFERENCES kiln_trials(id),
    name TEXT NOT NULL,
    distribution TEXT NOT NULL,
    internal DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (trial_id, name)
);
CREATE TABLE IF NOT EXISTS kiln_intermediate (
    trial_id BIGINT NOT NULL REFERENCES kiln_trials(id),
    step BIGINT NOT NULL,
    value DOUBLE PRECISION,
    PRIMARY KEY (trial_id, step)
);
CREATE TABLE IF NOT EXISTS kiln_trial_values (
    trial_id BIGINT NOT NULL REFERENCES kiln_trials(id),
    objective BIGINT NOT NULL,
    value DOUBLE PRECISION,
    PRIMARY KEY (trial_id, objective)
);
";

/// Studies in a PostgreSQL database (tables prefixed `kiln_`), shared by any number of
/// processes on any number of machines.
pub struct PostgresStorage {
    url: String,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("PostgresStorage").finish_non_exhaustive()
    }
}

fn db(context: &str) -> impl FnOnce(postgres::Error) -> TuneError + '_ {
    move |e| storage(format!("postgres: {context}"), e)
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and creates the
    /// tables if they do not exist.
    ///
    /// # Errors
    /// The server cannot be reached, refuses the login, or the tables cannot be created.
    pub fn open(url: &str) -> Result<Self> {
        let storage = Self {
            url: url.to_owned(),
            client: Mutex::new(None),
        };
        storage.with("creating the tables", |c| {
            // Two workers creating the tables at once race on the catalog; a lock makes the
            // second wait for the first.
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock(7340121)", &[])?;
            tx.batch_execute(SCHEMA)?;
            tx.commit()
        })?;
        Ok(storage)
    }

    fn connect(&self) -> Result<Client> {
        Client::connect(&self.url, NoTls).map_err(db("connecting"))
    }

    /// Runs `f` on the connection, (re)connecting first when there is none or the server
    /// closed it; a call that failed because the connection dropped is retried once on a
    /// new one (its transaction was rolled back with the connection).
    fn with<T>(
        &self,
        context: &str,
        mut f: impl FnMut(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut guard = self
            .client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for attempt in 0..2 {
            if guard.as_ref().is_none_or(Client::is_closed) {
                *guard = Some(self.connect()?);
            }
            let client = guard.as_mut().expect("connected above");
            match f(client) {
                Ok(v) => return Ok(v),
                Err(e) if attempt == 0 && (e.is_closed() || client.is_closed()) => {
                    *guard = None;
                }
                Err(e) => return Err(db(context)(e)),
            }
        }
        Err(TuneError::TrialState(format!(
            "postgres: {context}: the connection dropped twice"
        )))
    }
}

impl Storage for PostgresStorage {
    fn create_or_load_study(&self, name: &str, directions: &[Direction]) -> Result<u64> {
        super::check_directions(directions)?;
        let direction = Direction::join(directions);
        let (id, found) = self.with("creating the study", |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO kiln_studies (name, direction) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &direction],
            )?;
            let row = tx.query_one(
                "SELECT id, direction FROM kiln_studies WHERE name = $1",
                &[&name],
            )?;
            tx.commit()?;
            Ok((row.get::<_, i64>(0), row.get::<_, String>(1)))
        })?;
        if found != direction {
            return Err(other_directions(name, found));
        }
        Ok(id as u64)
    }

    fn start_trial(&self, study: u64) -> Result<FrozenTrial> {
        let (id, number, fixed, retry_of) = self.with("starting a trial", |c| {
            let mut tx = c.transaction()?;
            // Trial creation within a study takes turns: numbers are dense and unique.
            tx.execute(
                "SELECT id FROM kiln_studies WHERE id = $1 FOR UPDATE",
                &[&(study as i64)],
            )?;
            let t = now();
            let waiting = tx.query_opt(
                "SELECT id, number, fixed, retry_of FROM kiln_trials
                 WHERE study_id = $1 AND state = 'waiting' ORDER BY number LIMIT 1",
                &[&(study as i64)],
            )?;
            let row = match waiting {
                Some(r) => {
                    let id: i64 = r.get(0);
                    tx.execute(
                        "UPDATE kiln_trials SET state = 'running', started = $2, heartbeat = $2
                         WHERE id = $1",
                        &[&id, &t],
                    )?;
                    (
                        id,
                        r.get::<_, i64>(1),
                        r.get::<_, String>(2),
                        r.get::<_, Option<i64>>(3),
                    )
                }
                None => {
                    let r = tx.query_one(
                        "INSERT INTO kiln_trials (study_id, number, state, started, heartbeat)
                         SELECT $1, COALESCE(MAX(number) + 1, 0), 'running', $2, $2
                         FROM kiln_trials WHERE study_id = $1
                         RETURNING id, number",
                        &[&(study as i64), &t],
                    )?;
                    (r.get(0), r.get(1), "{}".to_owned(), None)
                }
            };
            tx.commit()?;
            Ok(row)
        })?;
        started_trial(id, number, &fixed, retry_of)
    }

    fn enqueue_trial(
        &self,
        study: u64,
        params: BTreeMap<String, ParamValue>,
        retry_of: Option<u64>,
    ) -> Result<()> {
        let fixed = serde_json::to_string(&params).map_err(|e| storage("enqueued params", e))?;
        let retry_of = retry_of.map(|r| r as i64);
        self.with("enqueuing a trial", |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "SELECT id FROM kiln_studies WHERE id = $1 FOR UPDATE",
                &[&(study as i64)],
            )?;
            tx.execute(
                "INSERT INTO kiln_trials (study_id, number, state, fixed, retry_of)
                 SELECT $1, COALESCE(MAX(number) + 1, 0), 'waiting', $2, $3
                 FROM kiln_trials WHERE study_id = $1",
                &[&(study as i64), &fixed, &retry_of],
            )?;
            tx.commit()
        })
    }

    fn set_param(
        &self,
        trial: u64,
        name: &str,
        distribution: &Distribution,
        internal: f64,
    ) -> Result<()> {
        let d = serde_json::to_string(distribution)
            .map_err(|e| storage(format!("distribution of `{name}`"), e))?;
        self.with("recording a parameter", |c| {
            c.execute(
                "INSERT INTO kiln_params (trial_id, name, distribution, internal)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (trial_id, name) DO UPDATE
                 SET distribution = EXCLUDED.distribution, internal = EXCLUDED.internal",
                &[&(trial as i64), &name, &d, &internal],
            )
            .map(drop)
        })
    }

    fn report(&self, trial: u64, step: u64, value: f64) -> Result<()> {
        let value = value.is_finite().then_some(value);
        self.with("reporting a value", |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO kiln_intermediate (trial_id, step, value) VALUES ($1, $2, $3)
                 ON CONFLICT (trial_id, step) DO UPDATE SET value = EXCLUDED.value",
                &[&(trial as i64), &(step as i64), &value],
            )?;
            tx.execute(
                "UPDATE kiln_trials SET heartbeat = $2 WHERE id = $1",
                &[&(trial as i64), &now()],
            )?;
            tx.commit()
        })
    }

    fn finish_trial(
        &self,
        trial: u64,
        state: TrialState,
        values: &[f64],
        error: Option<String>,
    ) -> Result<()> {
        let value = values.first().copied();
        let changed = self.with("finishing a trial", |c| {
            let mut tx = c.transaction()?;
            let changed = tx.execute(
                "UPDATE kiln_trials SET state = $2, value = $3, error = $4, finished = $5
                 WHERE id = $1 AND state = 'running'",
                &[&(trial as i64), &state.name(), &value, &error, &now()],
            )?;
            if changed > 0 && values.len() > 1 {
                for (k, v) in values.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO kiln_trial_values (trial_id, objective, value)
                         VALUES ($1, $2, $3)",
                        &[&(trial as i64), &(k as i64), &v.is_finite().then_some(*v)],
                    )?;
                }
            }
            tx.commit()?;
            Ok(changed)
        })?;
        if changed == 0 {
            return Err(TuneError::TrialState(format!(
                "trial id {trial} is not running (it finished already, or a stale-trial check \
                 failed it)"
            )));
        }
        Ok(())
    }

    fn trials(&self, study: u64) -> Result<Vec<FrozenTrial>> {
        self.read_trials(study, None)
    }

    fn trials_changed(
        &self,
        study: u64,
        after: Option<u64>,
        open: &[u64],
    ) -> Result<Vec<FrozenTrial>> {
        let mut trials = match after {
            None => self.read_trials(study, None)?,
            Some(after) => self.read_trials(
                study,
                Some((after as i64, open.iter().map(|&i| i as i64).collect())),
            )?,
        };
        trials.sort_by_key(|t| t.id);
        Ok(trials)
    }

    fn heartbeat(&self, trial: u64) -> Result<()> {
        self.with("recording a heartbeat", |c| {
            c.execute(
                "UPDATE kiln_trials SET heartbeat = $2 WHERE id = $1",
                &[&(trial as i64), &now()],
            )
            .map(drop)
        })
    }

    fn fail_stale_trials(&self, study: u64, grace: Duration) -> Result<Vec<u64>> {
        let cutoff = now() - grace.as_secs_f64();
        self.with("failing stale trials", |c| {
            c.query(
                "UPDATE kiln_trials SET state = 'failed', finished = $3,
                     error = 'no heartbeat: the worker died'
                 WHERE study_id = $1 AND state = 'running' AND heartbeat < $2
                 RETURNING number",
                &[&(study as i64), &cutoff, &now()],
            )
            .map(|rows| rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect())
        })
    }
}

impl PostgresStorage {
    /// The study's trials (all, or those created after `changed.0` and those in `changed.1`),
    /// ordered by number, each with its parameters and intermediate values, in one query.
    fn read_trials(
        &self,
        study: u64,
        changed: Option<(i64, Vec<i64>)>,
    ) -> Result<Vec<FrozenTrial>> {
        const SELECT: &str = "SELECT t.id, t.number, t.state, t.value, t.error, t.retry_of,
                        t.fixed, t.started, t.finished,
                        COALESCE((SELECT json_agg(json_build_array(p.name, p.distribution,
                                                  p.internal))::text
                                  FROM kiln_params p WHERE p.trial_id = t.id), '[]'),
                        COALESCE((SELECT json_agg(json_build_array(i.step, i.value))::text
                                  FROM kiln_intermediate i WHERE i.trial_id = t.id), '[]'),
                        COALESCE((SELECT json_agg(v.value ORDER BY v.objective)::text
                                  FROM kiln_trial_values v WHERE v.trial_id = t.id), '[]')
                 FROM kiln_trials t WHERE t.study_id = $1";
        let rows = self.with("reading the trials", |c| match &changed {
            None => c.query(&format!("{SELECT} ORDER BY t.number"), &[&(study as i64)]),
            Some((after, open)) => c.query(
                &format!("{SELECT} AND (t.id > $2 OR t.id = ANY($3)) ORDER BY t.number"),
                &[&(study as i64), after, open],
            ),
        })?;
        let mut trials = Vec::with_capacity(rows.len());
        for r in rows {
            let number: i64 = r.get(1);
            let mut t = FrozenTrial::new(r.get::<_, i64>(0) as u64, number as u64);
            t.state = state_of(r.get(2))?;
            t.value = r.get(3);
            t.error = r.get(4);
            t.retry_of = r.get::<_, Option<i64>>(5).map(|x| x as u64);
            t.fixed = serde_json::from_str(r.get(6))
                .map_err(|e| storage(format!("fixed params of trial {number}"), e))?;
            let started: Option<f64> = r.get(7);
            let finished: Option<f64> = r.get(8);
            t.duration = started.zip(finished).map(|(s, f)| f - s);
            let bad = |what: &str| storage(format!("{what} of trial {number}"), Malformed);
            let params: Vec<Value> =
                serde_json::from_str(r.get(9)).map_err(|e| storage("params", e))?;
            for p in params {
                let (Some(name), Some(d), Some(internal)) =
                    (p[0].as_str(), p[1].as_str(), p[2].as_f64())
                else {
                    return Err(bad("a parameter"));
                };
                let distribution: Distribution = serde_json::from_str(d)
                    .map_err(|e| storage(format!("distribution of `{name}`"), e))?;
                t.params.insert(
                    name.to_owned(),
                    Param {
                        distribution,
                        internal,
                    },
                );
            }
            let steps: Vec<Value> =
                serde_json::from_str(r.get(10)).map_err(|e| storage("intermediate values", e))?;
            for s in steps {
                let step = s[0].as_u64().ok_or_else(|| bad("a step"))?;
                t.intermediate
                    .insert(step, s[1].as_f64().unwrap_or(f64::NAN));
            }
            let values: Vec<Option<f64>> =
                serde_json::from_str(r.get(11)).map_err(|e| storage("objective values", e))?;
            t.values = values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect();
            trials.push(t);
        }
        Ok(trials)
    }
}

/// A row the database returned in a shape this storage did not write.
#[derive(Debug, thiserror::Error)]
#[error("malformed row")]
struct Malformed;
