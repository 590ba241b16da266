//! The SQLite storage shared by several processes: no lost or duplicated trials, and a worker
//! killed with SIGKILL leaves a trial that the next worker fails and retries.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kiln_tune::SqliteStorage;
use kiln_tune::{Direction, RandomSampler, Study, TpeSampler, TrialState, TuneError};

const WORKERS: usize = 4;
const TRIALS_PER_WORKER: usize = 50;

fn study(path: &str, seed: u64) -> Study {
    Study::builder("shared")
        .with_direction(Direction::Minimize)
        .with_storage(Arc::new(SqliteStorage::open(path).unwrap()))
        .with_sampler(TpeSampler::new(seed))
        .with_heartbeat(Duration::from_millis(200))
        .with_retry_failed(1)
        .load_or_create()
        .unwrap()
}

/// Runs in a child process: a worker of the shared study (see the test below).
#[test]
#[ignore = "a worker process of the multi-process tests below"]
fn sqlite_worker_child() {
    let path = std::env::var("KILN_TUNE_DB").expect("set by the parent test");
    let seed = std::env::var("KILN_TUNE_SEED").expect("set by the parent test");
    let study = study(&path, seed.parse().unwrap());
    let hang = std::env::var("KILN_TUNE_HANG").is_ok();
    study
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

fn spawn(path: &str, seed: usize, hang: bool) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "sqlite::sqlite_worker_child",
        "--ignored",
        "--nocapture",
    ])
    .env("KILN_TUNE_DB", path)
    .env("KILN_TUNE_SEED", seed.to_string());
    if hang {
        cmd.env("KILN_TUNE_HANG", "1");
    }
    cmd.spawn().unwrap()
}

#[test]
fn four_processes_share_one_file_without_losing_trials() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.db");
    let path = path.to_str().unwrap();
    let children: Vec<_> = (0..WORKERS).map(|i| spawn(path, i, false)).collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let trials = study(path, 0).trials().unwrap();
    assert_eq!(trials.len(), WORKERS * TRIALS_PER_WORKER);
    let numbers: Vec<u64> = trials.iter().map(|t| t.number).collect();
    assert_eq!(
        numbers,
        (0..(WORKERS * TRIALS_PER_WORKER) as u64).collect::<Vec<_>>()
    );
    assert!(
        trials.iter().all(|t| t.state == TrialState::Complete),
        "all complete"
    );
    assert!(
        trials
            .iter()
            .all(|t| t.params.len() == 2 && t.intermediate.len() == 1)
    );
}

#[test]
fn a_killed_worker_leaves_a_trial_the_next_one_fails_and_retries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.db");
    let path = path.to_str().unwrap();
    let mut child = spawn(path, 7, true);
    // Wait until the child's trial is running and has reported.
    let probe = study(path, 0);
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
    // After the grace period (4 heartbeats), the next trial to start fails the orphan and
    // re-queues its parameters, which it then runs itself.
    std::thread::sleep(Duration::from_millis(1000));
    let resumed = Study::builder("shared")
        .with_storage(Arc::new(SqliteStorage::open(path).unwrap()))
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
    let retry = &trials[1];
    assert_eq!(retry.retry_of, Some(0));
    assert_eq!(retry.state, TrialState::Complete);
    assert_eq!(retry.values(), orphan.values());
}
