//! Pruning reads only what changed: `Storage::trials_changed` on every built-in storage, and a
//! trial finished through another handle (another process, on a shared file) reaching a
//! running trial's pruner.

use std::sync::Arc;

use kiln_tune::{
    Direction, InMemoryStorage, MedianPruner, RandomSampler, Storage, Study, TrialState,
};

/// Five trials: 0 and 1 finished, 2 running, 3 running then finished, 4 waiting. Asked
/// after trial 1 with 2 and 3 open, the storage returns 2, 3 (now finished) and the newer 4.
/// A trial of another study is created first, so ids and numbers differ.
pub(crate) fn check_trials_changed(storage: &dyn Storage, name: &str) {
    let other = storage
        .create_or_load_study(&format!("{name}-other"), &[Direction::Minimize])
        .unwrap();
    storage.start_trial(other).unwrap();
    let study = storage
        .create_or_load_study(name, &[Direction::Minimize])
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(storage.start_trial(study).unwrap().id);
    }
    storage
        .finish_trial(ids[0], TrialState::Complete, &[1.0], None)
        .unwrap();
    storage
        .finish_trial(ids[1], TrialState::Pruned, &[], None)
        .unwrap();
    storage.report(ids[3], 1, 0.5).unwrap();
    let all = storage.trials_changed(study, None, &[]).unwrap();
    assert_eq!(all.iter().map(|t| t.id).collect::<Vec<_>>(), ids);

    storage
        .finish_trial(ids[3], TrialState::Complete, &[0.25], None)
        .unwrap();
    storage
        .enqueue_trial(study, Default::default(), None)
        .unwrap();
    let changed = storage
        .trials_changed(study, Some(ids[3]), &[ids[2], ids[3]])
        .unwrap();
    let got: Vec<(u64, TrialState)> = changed.iter().map(|t| (t.number, t.state)).collect();
    assert_eq!(
        got,
        [
            (2, TrialState::Running),
            (3, TrialState::Complete),
            (4, TrialState::Waiting)
        ]
    );
    assert_eq!(
        changed[1].intermediate.get(&1),
        Some(&0.5),
        "with its values"
    );
    assert!(
        storage
            .trials_changed(study, Some(changed[2].id), &[])
            .unwrap()
            .is_empty(),
        "nothing new, nothing open"
    );
}

#[test]
fn the_memory_storage_returns_new_and_open_trials() {
    check_trials_changed(&InMemoryStorage::new(), "changed");
}

#[cfg(feature = "sqlite")]
#[test]
fn the_sqlite_storage_returns_new_and_open_trials() {
    let dir = tempfile::tempdir().unwrap();
    let storage = kiln_tune::SqliteStorage::open(dir.path().join("s.db")).unwrap();
    check_trials_changed(&storage, "changed");
}

/// A running trial asks the pruner while another handle on the same file completes a better
/// trial: the first answer (nothing completed) is "go on", the next one sees the completed
/// trial (read again because it was open) and prunes.
#[cfg(feature = "sqlite")]
#[test]
fn a_trial_finished_elsewhere_reaches_the_pruner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let open = |seed| {
        Study::builder("shared")
            .with_storage(Arc::new(kiln_tune::SqliteStorage::open(&path).unwrap()))
            .with_sampler(RandomSampler::new(seed))
            .with_pruner(MedianPruner::new().with_n_startup_trials(1))
            .load_or_create()
            .unwrap()
    };
    let (here, elsewhere) = (open(1), open(2));
    let mut good = elsewhere.ask().unwrap();
    let mut bad = here.ask().unwrap();
    good.report(1, 0.1).unwrap();
    bad.report(1, 0.9).unwrap();
    assert!(!bad.should_prune().unwrap(), "no completed trial yet");
    elsewhere.tell(good, Ok(0.1)).unwrap();
    assert!(bad.should_prune().unwrap(), "the completed trial is seen");
}
