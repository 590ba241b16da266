//! Multi-objective studies: directions per objective, NSGA-II and multi-objective TPE, the
//! Pareto front, values through every storage, and the errors for what has no meaning with
//! several objectives.

use std::sync::Arc;

use kiln_tune::{
    Direction, InMemoryStorage, MedianPruner, Nsga2Sampler, Storage, Study, TpeSampler, TrialState,
    dominates, hypervolume,
};

/// Schaffer's problem N.1: f1 = x², f2 = (x − 2)²; the Pareto set is x ∈ [0, 2].
fn schaffer(x: f64) -> (f64, f64) {
    (x * x, (x - 2.0) * (x - 2.0))
}

/// The hypervolume of Schaffer's true front under `reference`, from a dense sample of it.
fn schaffer_front_volume(reference: &[f64]) -> f64 {
    let front: Vec<Vec<f64>> = (0..=2000)
        .map(|i| {
            let (a, b) = schaffer(2.0 * f64::from(i) / 2000.0);
            vec![a, b]
        })
        .collect();
    hypervolume(&front, reference)
}

fn front_volume(study: &Study, reference: &[f64]) -> f64 {
    let front: Vec<Vec<f64>> = study
        .best_trials()
        .unwrap()
        .iter()
        .map(|t| t.values.clone())
        .collect();
    hypervolume(&front, reference)
}

fn minimize_both(name: &str) -> kiln_tune::StudyBuilder {
    Study::builder(name).with_directions([Direction::Minimize, Direction::Minimize])
}

#[test]
fn nsga2_is_the_default_and_approaches_the_true_front() {
    let study = minimize_both("schaffer").load_or_create().unwrap();
    study
        .optimize(300, |trial| {
            let x = trial.suggest_float("x", -10.0, 10.0).uniform()?;
            Ok::<_, kiln_tune::TuneError>(schaffer(x))
        })
        .unwrap();
    let trials = study.trials().unwrap();
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    assert!(trials.iter().all(|t| t.values.len() == 2));
    let front = study.best_trials().unwrap();
    assert!(front.len() >= 10, "{} trials on the front", front.len());
    // No completed trial dominates a front trial, and each front trial is in the Pareto set.
    for f in &front {
        assert!(!trials.iter().any(|t| dominates(&t.values, &f.values)));
        let x = f.params["x"].value().as_f64().unwrap();
        assert!((-0.05..=2.05).contains(&x), "x = {x} on the front");
    }
    let reference = [4.0, 4.0];
    let found = front_volume(&study, &reference);
    let truth = schaffer_front_volume(&reference);
    assert!(found > 0.97 * truth, "hypervolume {found} of {truth}");
    // Better than the 50 random trials of its first generation.
    let first: Vec<Vec<f64>> = trials[..50].iter().map(|t| t.values.clone()).collect();
    assert!(found > hypervolume(&first, &reference));
}

#[test]
fn nsga2_with_optunas_operators_and_motpe_both_work() {
    let reference = [4.0, 4.0];
    let truth = schaffer_front_volume(&reference);
    let optuna_like = Nsga2Sampler::new(1)
        .with_crossover(kiln_tune::Crossover::Uniform { swapping_prob: 0.5 })
        .with_mutation(kiln_tune::Mutation::Resample)
        .with_population_size(20);
    let motpe = TpeSampler::new(1);
    // With 150 trials, uniform crossover reaches less of the front: it only recombines values
    // the parents have, so new ones come from mutation alone.
    for (name, study, share) in [
        (
            "uniform",
            minimize_both("uniform").with_sampler(optuna_like),
            0.7,
        ),
        ("motpe", minimize_both("motpe").with_sampler(motpe), 0.9),
    ] {
        let study = study.load_or_create().unwrap();
        study
            .optimize(150, |trial| {
                let x = trial.suggest_float("x", -10.0, 10.0).uniform()?;
                let kind = trial.suggest_categorical("kind", &["plain", "shifted"])?;
                let shift = if kind == "plain" { 0.0 } else { 0.5 };
                let (a, b) = schaffer(x);
                Ok::<_, kiln_tune::TuneError>([a + shift, b + shift])
            })
            .unwrap();
        let found = front_volume(&study, &reference);
        eprintln!("{name}: hypervolume {found} of {truth}");
        assert!(
            found > share * truth,
            "{name}: hypervolume {found} of {truth}"
        );
        // The front chose the better branch.
        for t in study.best_trials().unwrap() {
            assert_eq!(t.params["kind"].value().to_string(), "plain", "{name}");
        }
    }
}

#[test]
fn maximized_objectives_and_the_front_follow_the_directions() {
    let study = Study::builder("mixed")
        .with_directions([Direction::Maximize, Direction::Minimize])
        .load_or_create()
        .unwrap();
    // Accuracy-like (higher better) against size-like (lower better), both rising with `w`.
    for w in [1.0, 2.0, 3.0, 4.0] {
        let mut t = study.ask().unwrap();
        t.suggest_float("w", 0.0, 10.0).uniform().unwrap();
        study.tell_values(t, Ok(vec![w, w])).unwrap();
    }
    // Worse accuracy for more size: dominated.
    let mut t = study.ask().unwrap();
    t.suggest_float("w", 0.0, 10.0).uniform().unwrap();
    study.tell_values(t, Ok(vec![1.5, 3.5])).unwrap();
    let front: Vec<u64> = study
        .best_trials()
        .unwrap()
        .iter()
        .map(|t| t.number)
        .collect();
    assert_eq!(front, vec![0, 1, 2, 3]);
    let csv = study.trials_csv().unwrap();
    assert!(
        csv.starts_with("number,state,value_0,value_1,duration_s,error"),
        "{csv}"
    );
    assert!(csv.contains("\n4,complete,1.5,3.5,"), "{csv}");
}

#[test]
fn what_has_no_meaning_with_several_objectives_is_a_clear_error() {
    let study = minimize_both("errors").load_or_create().unwrap();
    // The wrong number of values fails the trial and says why.
    let t = study.ask().unwrap();
    assert_eq!(study.tell(t, Ok(1.0)).unwrap(), TrialState::Failed);
    let t = study.ask().unwrap();
    assert_eq!(
        study.tell_values(t, Ok((1.0, f64::INFINITY))).unwrap(),
        TrialState::Failed
    );
    let t = study.ask().unwrap();
    assert_eq!(
        study.tell_values(t, Ok([1.0, f64::NAN])).unwrap(),
        TrialState::Failed
    );
    let trials = study.trials().unwrap();
    let error = trials[0].error.as_deref().unwrap();
    assert!(
        error.contains("1 value(s)") && error.contains("2 objective(s)"),
        "{error}"
    );
    assert!(trials[1].error.as_deref().unwrap().contains("infinite"));
    assert!(trials[2].error.as_deref().unwrap().contains("NaN"));
    assert!(matches!(
        study.best_trial(),
        Err(e) if e.to_string().contains("best_trials")
    ));
    // Pruning needs one objective: refused when the study is built, and when asked.
    let refused = minimize_both("pruned")
        .with_pruner(MedianPruner::default())
        .load_or_create();
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("without a pruner")
    );
    let mut t = study.ask().unwrap();
    t.report(0, 1.0).unwrap();
    assert!(
        t.should_prune()
            .unwrap_err()
            .to_string()
            .contains("several")
    );
    // No direction at all.
    let none = Study::builder("none").with_directions([]).load_or_create();
    assert!(none.unwrap_err().to_string().contains("at least one"));
    let (from, to) = (InMemoryStorage::new(), InMemoryStorage::new());
    let copied = kiln_tune::copy_study(&from, &to, "none", &[]);
    assert!(copied.unwrap_err().to_string().contains("at least one"));
    assert!(from.create_or_load_study("none", &[]).is_err());
}

/// Values, directions and the front survive a storage: written by one study handle, read by
/// another; other directions for the same name are refused; a copy keeps every value.
pub(crate) fn values_round_trip(storage: Arc<dyn Storage>, other: Arc<dyn Storage>, name: &str) {
    let directions = [
        Direction::Minimize,
        Direction::Maximize,
        Direction::Minimize,
    ];
    let writer = Study::builder(name)
        .with_directions(directions)
        .with_storage(Arc::clone(&storage))
        .load_or_create()
        .unwrap();
    writer
        .optimize(12, |trial| {
            let x = trial.suggest_float("x", 0.0, 1.0).uniform()?;
            Ok::<_, kiln_tune::TuneError>((x, x * x, 1.0 - x))
        })
        .unwrap();
    let reader = Study::builder(name)
        .with_directions(directions)
        .with_storage(Arc::clone(&storage))
        .load_or_create()
        .unwrap();
    let trials = reader.trials().unwrap();
    assert_eq!(trials.len(), 12);
    for t in &trials {
        let x = t.params["x"].value().as_f64().unwrap();
        assert_eq!(t.values, vec![x, x * x, 1.0 - x]);
        assert_eq!(t.value, Some(x));
    }
    assert_eq!(reader.best_trials().unwrap(), writer.best_trials().unwrap());
    let single = Study::builder(name)
        .with_direction(Direction::Minimize)
        .with_storage(Arc::clone(&storage))
        .load_or_create();
    assert!(
        single
            .unwrap_err()
            .to_string()
            .contains("minimize,maximize,minimize")
    );
    let copied = kiln_tune::copy_study(storage.as_ref(), other.as_ref(), name, &directions);
    assert_eq!(copied.unwrap(), 12);
    let moved = Study::builder(name)
        .with_directions(directions)
        .with_storage(other)
        .load_or_create()
        .unwrap();
    let after = moved.trials().unwrap();
    for (a, b) in trials.iter().zip(&after) {
        assert_eq!(
            (&a.values, a.value, &a.params),
            (&b.values, b.value, &b.params)
        );
    }
}

#[test]
fn values_round_trip_in_memory() {
    values_round_trip(
        Arc::new(InMemoryStorage::new()),
        Arc::new(InMemoryStorage::new()),
        "memory",
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn values_round_trip_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let open = |f: &str| -> Arc<dyn Storage> {
        Arc::new(kiln_tune::SqliteStorage::open(dir.path().join(f)).unwrap())
    };
    values_round_trip(open("a.db"), open("b.db"), "sqlite");
}
