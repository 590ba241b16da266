//! The PostgreSQL storage against a real server (`KILN_TEST_POSTGRES_URL`; `scripts/test.sh`
//! starts one on 127.0.0.1 and sets it): eight worker processes on one study, a worker killed
//! with SIGKILL, a finished trial that cannot be finished again, a dropped connection, and a
//! study copied from SQLite.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kiln_tune::{
    Direction, PostgresStorage, RandomSampler, SqliteStorage, Storage, Study, TpeSampler,
    TrialState, TuneError, copy_study, open_storage,
};

const WORKERS: usize = 8;
const TRIALS_PER_WORKER: usize = 50;

fn url() -> String {
    std::env::var("KILN_TEST_POSTGRES_URL").expect(
        "set KILN_TEST_POSTGRES_URL to a PostgreSQL server's URL (scripts/test.sh starts one \
         on 127.0.0.1 and sets it)",
    )
}

/// A study name no other test run uses.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn study(name: &str, seed: u64) -> Study {
    Study::builder(name)
        .with_direction(Direction::Minimize)
        .with_storage(open_storage(&url()).unwrap())
        .with_sampler(TpeSampler::new(seed))
        .with_heartbeat(Duration::from_millis(200))
        .with_retry_failed(1)
        .load_or_create()
        .unwrap()
}

/// Runs in a child process: a worker of the shared study (see the tests below).
#[test]
#[ignore = "a worker process of the multi-process tests below"]
fn postgres_worker_child() {
    let name = std::env::var("KILN_TUNE_STUDY").expect("set by the parent test");
    let seed = std::env::var("KILN_TUNE_SEED").expect("set by the parent test");
    let hang = std::env::var("KILN_TUNE_HANG").is_ok();
    study(&name, seed.parse().unwrap())
        .optimize(TRIALS_PER_WORKER, |trial| {
            let x = trial.suggest_float("x", -3.0, 3.0).uniform()?;
            let y = trial.suggest_int("y", 0, 10).uniform()?;
            trial.report(1, x)?;
            if hang {
                // Wait to be killed.
                std::thread::sleep(Duration::from_secs(600));
            }
            Ok::<_, TuneError>(x * x + y as f64)
        })
        .unwrap();
}

fn spawn(name: &str, seed: usize, hang: bool) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "postgres::postgres_worker_child",
        "--ignored",
        "--nocapture",
    ])
    .env("KILN_TEST_POSTGRES_URL", url())
    .env("KILN_TUNE_STUDY", name)
    .env("KILN_TUNE_SEED", seed.to_string());
    if hang {
        cmd.env("KILN_TUNE_HANG", "1");
    }
    cmd.spawn().unwrap()
}

#[test]
fn eight_processes_share_one_study_without_losing_or_duplicating_trials() {
    let name = unique("eight");
    let children: Vec<_> = (0..WORKERS).map(|i| spawn(&name, i, false)).collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a worker failed");
    }
    let trials = study(&name, 0).trials().unwrap();
    assert_eq!(trials.len(), WORKERS * TRIALS_PER_WORKER);
    let numbers: Vec<u64> = trials.iter().map(|t| t.number).collect();
    assert_eq!(
        numbers,
        (0..(WORKERS * TRIALS_PER_WORKER) as u64).collect::<Vec<_>>()
    );
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    assert!(
        trials
            .iter()
            .all(|t| t.params.len() == 2 && t.intermediate.len() == 1 && t.value.is_some())
    );
}

#[test]
fn a_killed_worker_leaves_a_trial_the_next_one_fails_and_retries() {
    let name = unique("killed");
    let mut child = spawn(&name, 7, true);
    let probe = study(&name, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !probe
        .trials()
        .unwrap()
        .iter()
        .any(|t| t.state == TrialState::Running && !t.intermediate.is_empty())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the child never started a trial"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let orphan = probe.trials().unwrap()[0].clone();
    assert_eq!(orphan.state, TrialState::Running);
    std::thread::sleep(Duration::from_millis(1000));
    let resumed = Study::builder(&name)
        .with_storage_url(url())
        .with_sampler(RandomSampler::new(1))
        .with_heartbeat(Duration::from_millis(200))
        .with_retry_failed(1)
        .load_or_create()
        .unwrap();
    resumed
        .optimize(1, |trial| {
            let x = trial.suggest_float("x", -3.0, 3.0).uniform()?;
            let y = trial.suggest_int("y", 0, 10).uniform()?;
            Ok::<_, TuneError>(x * x + y as f64)
        })
        .unwrap();
    let trials = resumed.trials().unwrap();
    assert_eq!(trials[0].state, TrialState::Failed);
    assert!(trials[0].error.as_deref().unwrap().contains("heartbeat"));
    assert_eq!(trials[1].retry_of, Some(0));
    assert_eq!(trials[1].state, TrialState::Complete);
    assert_eq!(trials[1].values(), orphan.values());
}

#[test]
fn a_finished_trial_cannot_be_finished_again_and_a_dropped_connection_reconnects() {
    // Named, so that only this connection is ended below (not the other tests').
    let app = unique("reconnect");
    let storage = PostgresStorage::open(&format!("{}?application_name={app}", url())).unwrap();
    let study = storage
        .create_or_load_study(&unique("finish"), &[Direction::Maximize])
        .unwrap();
    let trial = storage.start_trial(study).unwrap();
    storage
        .finish_trial(trial.id, TrialState::Complete, &[1.0], None)
        .unwrap();
    let again = storage
        .finish_trial(trial.id, TrialState::Failed, &[], Some("late".into()))
        .unwrap_err();
    assert!(matches!(again, TuneError::TrialState(_)), "{again}");
    assert_eq!(storage.trials(study).unwrap()[0].value, Some(1.0));

    // Another session ends the storage's connection, as a server restart or a proxy would.
    let mut admin = postgres::Client::connect(&url(), postgres::NoTls).unwrap();
    let ended = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .unwrap();
    assert_eq!(ended.len(), 1);
    std::thread::sleep(Duration::from_millis(100));
    let trials = storage.trials(study).unwrap();
    assert_eq!(trials.len(), 1, "read again on a new connection");
    storage.start_trial(study).unwrap();
}

#[test]
fn a_study_moves_from_sqlite_to_postgres_with_every_trial_intact() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteStorage::open(dir.path().join("study.db")).unwrap());
    let name = unique("moved");
    let source = Study::builder(&name)
        .with_storage(sqlite.clone())
        .with_sampler(RandomSampler::new(3))
        .load_or_create()
        .unwrap();
    source
        .optimize(12, |trial| {
            let x = trial.suggest_float("x", 0.0, 1.0).uniform()?;
            let c = trial.suggest_categorical("c", &["a", "b"])?;
            for step in 0..3 {
                trial.report(step, x + step as f64)?;
            }
            match trial.number() % 4 {
                1 => Err(trial.pruned()),
                2 => Err(TuneError::Invalid {
                    field: "x".into(),
                    reason: "a failing trial".into(),
                }),
                _ => Ok(x + if c == "a" { 0.0 } else { 1.0 }),
            }
        })
        .unwrap();
    source
        .enqueue_trial(BTreeMap::from([(
            "x".to_owned(),
            kiln_tune::ParamValue::Float(0.5),
        )]))
        .unwrap();
    let before = source.trials().unwrap();
    assert!(before.iter().any(|t| t.state == TrialState::Pruned));
    assert!(before.iter().any(|t| t.state == TrialState::Failed));

    let postgres = open_storage(&url()).unwrap();
    let copied = copy_study(
        sqlite.as_ref(),
        postgres.as_ref(),
        &name,
        &[Direction::Minimize],
    )
    .unwrap();
    assert_eq!(copied, before.len());
    let moved = Study::builder(&name)
        .with_storage(postgres.clone())
        .load_or_create()
        .unwrap();
    let after = moved.trials().unwrap();
    assert_eq!(after.len(), before.len());
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(
            (
                a.number,
                a.state,
                a.value,
                &a.error,
                &a.params,
                &a.intermediate,
                &a.fixed
            ),
            (
                b.number,
                b.state,
                b.value,
                &b.error,
                &b.params,
                &b.intermediate,
                &b.fixed
            )
        );
    }
    // Copying into a study that has trials is refused.
    let again = copy_study(
        sqlite.as_ref(),
        postgres.as_ref(),
        &name,
        &[Direction::Minimize],
    );
    assert!(
        again
            .unwrap_err()
            .to_string()
            .contains("already has trials")
    );
}

#[test]
fn the_postgres_storage_returns_new_and_open_trials() {
    let storage = PostgresStorage::open(&url()).unwrap();
    crate::changed::check_trials_changed(&storage, &unique("changed"));
}

#[test]
fn multi_objective_values_round_trip_in_postgres() {
    let other = tempfile::tempdir().unwrap();
    crate::multi::values_round_trip(
        open_storage(&url()).unwrap(),
        Arc::new(SqliteStorage::open(other.path().join("copy.db")).unwrap()),
        &unique("multi"),
    );
}
