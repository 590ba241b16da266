//! Studies end to end: determinism, conditional spaces, failures, retries, enqueued and grid
//! trials, threads, pruning, ask/tell and summaries, on in-memory storage.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kiln_tune::{
    Direction, FrozenTrial, GridSampler, InMemoryStorage, MedianPruner, Optimize, ParamValue,
    Pruner, QmcSampler, RandomSampler, SearchSpace, Study, StudyView, TpeSampler, Trial,
    TrialState, TuneError,
};

fn sphere(trial: &mut Trial) -> Result<f64, TuneError> {
    let x = trial.suggest_float("x", -5.0, 5.0).uniform()?;
    let y = trial.suggest_float("y", 1e-3, 10.0).log()?;
    let n = trial.suggest_int("n", 1, 64).log()?;
    let kind = trial.suggest_categorical("kind", &["a", "b", "c"])?;
    Ok(x * x
        + (y.ln() - 1.0).powi(2)
        + (n as f64 - 8.0).abs() / 8.0
        + if kind == "b" { 0.0 } else { 1.0 })
}

fn params_of(study: &Study) -> Vec<BTreeMap<String, ParamValue>> {
    study.trials().unwrap().iter().map(|t| t.values()).collect()
}

#[test]
fn the_same_seed_gives_the_same_trials() {
    let run = |seed: u64, which: &str| {
        let builder = Study::builder("s");
        let builder = match which {
            "tpe" => builder.with_sampler(TpeSampler::new(seed)),
            "tpe-ind" => builder.with_sampler(TpeSampler::new(seed).with_multivariate(false)),
            "random" => builder.with_sampler(RandomSampler::new(seed)),
            _ => builder.with_sampler(QmcSampler::new(seed)),
        };
        let study = builder.load_or_create().unwrap();
        study.optimize(30, sphere).unwrap();
        params_of(&study)
    };
    for which in ["tpe", "tpe-ind", "random", "qmc"] {
        assert_eq!(run(3, which), run(3, which), "{which}");
        assert_ne!(run(3, which), run(4, which), "{which}");
    }
}

#[test]
fn tpe_beats_random_search_on_a_mixed_space() {
    let best = |study: Study| {
        study.optimize(80, sphere).unwrap();
        study.best_trial().unwrap().value.unwrap()
    };
    let (mut tpe, mut random) = (Vec::new(), Vec::new());
    for seed in 0..5 {
        tpe.push(best(
            Study::builder("t")
                .with_sampler(TpeSampler::new(seed))
                .load_or_create()
                .unwrap(),
        ));
        random.push(best(
            Study::builder("r")
                .with_sampler(RandomSampler::new(seed))
                .load_or_create()
                .unwrap(),
        ));
    }
    tpe.sort_by(f64::total_cmp);
    random.sort_by(f64::total_cmp);
    assert!(
        tpe[2] < random[2],
        "median best: tpe {tpe:?} vs random {random:?}"
    );
    // Every value stays inside its distribution.
    let study = Study::builder("bounds").load_or_create().unwrap();
    study.optimize(40, sphere).unwrap();
    for t in study.trials().unwrap() {
        for p in t.params.values() {
            assert!(p.distribution.contains(p.internal), "{p:?}");
        }
    }
}

#[test]
fn conditional_spaces_are_plain_ifs() {
    let study = Study::builder("cond")
        .with_direction(Direction::Maximize)
        .with_sampler(TpeSampler::new(1))
        .load_or_create()
        .unwrap();
    study
        .optimize(60, |trial| {
            let model = trial.suggest_categorical("model", &["linear", "tree"])?;
            Ok::<_, TuneError>(if model == "linear" {
                let c = trial.suggest_float("c", 1e-3, 1e3).log()?;
                1.0 - (c.log10() - 1.0).abs() / 10.0
            } else {
                let depth = trial.suggest_int("depth", 1, 12).uniform()?;
                0.5 + depth as f64 / 100.0
            })
        })
        .unwrap();
    let trials = study.trials().unwrap();
    for t in &trials {
        let linear = t.values()["model"] == ParamValue::Str("linear".into());
        assert_eq!(t.params.contains_key("c"), linear);
        assert_eq!(t.params.contains_key("depth"), !linear);
    }
    let best = study.best_trial().unwrap();
    assert_eq!(best.values()["model"], ParamValue::Str("linear".into()));
    assert!(best.value.unwrap() > 0.95, "{best:?}");
}

#[test]
fn failures_and_panics_are_recorded_and_retried() {
    let study = Study::builder("fail")
        .with_sampler(RandomSampler::new(0))
        .with_retry_failed(1)
        .load_or_create()
        .unwrap();
    study
        .optimize(12, |trial| {
            let x = trial.suggest_float("x", 0.0, 1.0).uniform()?;
            match trial.number() % 4 {
                1 => Err::<f64, Box<dyn std::error::Error + Send + Sync>>("bad config".into()),
                2 => panic!("objective blew up"),
                3 => Ok(f64::NAN),
                _ => Ok(x),
            }
        })
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 12 + 1, "one retry is still waiting");
    let failed: Vec<_> = trials
        .iter()
        .filter(|t| t.state == TrialState::Failed)
        .collect();
    assert!(
        failed
            .iter()
            .any(|t| t.error.as_deref() == Some("bad config"))
    );
    assert!(
        failed
            .iter()
            .any(|t| t.error.as_deref().is_some_and(|e| e.contains("blew up")))
    );
    assert!(
        failed
            .iter()
            .any(|t| t.error.as_deref().is_some_and(|e| e.contains("NaN")))
    );
    // A retry repeats the failed trial's parameters.
    let retry = trials
        .iter()
        .find(|t| t.retry_of.is_some() && t.state.is_finished())
        .unwrap();
    let original = &trials[retry.retry_of.unwrap() as usize];
    assert_eq!(retry.values(), original.values());
    // Retries of retries stop at the limit.
    assert!(trials.iter().all(|t| match t.retry_of {
        Some(n) => trials[n as usize].retry_of.is_none(),
        None => true,
    }));
    assert!(study.best_trial().unwrap().value.is_some());
}

#[test]
fn enqueued_trials_run_first_with_their_values() {
    let study = Study::builder("enqueue").load_or_create().unwrap();
    study
        .enqueue_trial(BTreeMap::from([("x".into(), ParamValue::Float(0.25))]))
        .unwrap();
    study
        .optimize(3, |trial| trial.suggest_float("x", 0.0, 1.0).uniform())
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials[0].values()["x"], ParamValue::Float(0.25));
    // A value outside the distribution fails the trial with a clear error.
    study
        .enqueue_trial(BTreeMap::from([("x".into(), ParamValue::Float(7.0))]))
        .unwrap();
    study
        .optimize(1, |trial| trial.suggest_float("x", 0.0, 1.0).uniform())
        .unwrap();
    let last = study.trials().unwrap().pop().unwrap();
    assert_eq!(last.state, TrialState::Failed);
    assert!(last.error.unwrap().contains("not in float [0, 1]"));
}

#[test]
fn grid_search_visits_every_combination_once_then_stops() {
    let grid = GridSampler::new(BTreeMap::from([
        ("lr".into(), vec![0.1.into(), 0.01.into(), 0.001.into()]),
        ("opt".into(), vec!["adam".into(), "sgd".into()]),
    ]))
    .unwrap();
    let study = Study::builder("grid")
        .with_sampler(grid)
        .load_or_create()
        .unwrap();
    study
        .optimize(100, |trial| {
            let lr = trial.suggest_categorical("lr", &[0.1, 0.01, 0.001])?;
            let opt = trial.suggest_categorical("opt", &["adam", "sgd"])?;
            Ok::<_, TuneError>(lr + if opt == "sgd" { 1.0 } else { 0.0 })
        })
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 6);
    let mut seen: Vec<String> = trials.iter().map(|t| format!("{:?}", t.values())).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 6);
}

#[test]
fn threads_share_one_study_without_losing_trials() {
    let storage = Arc::new(InMemoryStorage::new());
    let study = Study::builder("threads")
        .with_storage(storage)
        .with_sampler(TpeSampler::new(0))
        .load_or_create()
        .unwrap();
    study
        .optimize_with(Optimize::trials(40).with_n_jobs(4), |trial| {
            let x = trial.suggest_float("x", -1.0, 1.0).uniform()?;
            std::thread::sleep(std::time::Duration::from_millis(2));
            Ok::<_, TuneError>(x * x)
        })
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 40);
    let numbers: Vec<u64> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..40).collect::<Vec<_>>());
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
}

#[test]
fn the_median_pruner_stops_bad_learning_curves() {
    let study = Study::builder("prune")
        .with_direction(Direction::Maximize)
        .with_sampler(RandomSampler::new(0))
        .with_pruner(MedianPruner::new().with_n_startup_trials(3))
        .load_or_create()
        .unwrap();
    study
        .optimize(30, |trial| {
            let rate = trial.suggest_float("rate", 0.0, 1.0).uniform()?;
            let mut accuracy = 0.0;
            for epoch in 1..=10 {
                accuracy = rate * epoch as f64 / 10.0;
                trial.report(epoch, accuracy)?;
                if trial.should_prune()? {
                    return Err(trial.pruned());
                }
            }
            Ok(accuracy)
        })
        .unwrap();
    let trials = study.trials().unwrap();
    let pruned: Vec<_> = trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    assert!(pruned.len() >= 5, "{} pruned", pruned.len());
    assert!(pruned.iter().all(|t| t.intermediate.len() < 10));
    // Pruned trials were the weaker ones.
    let best = study.best_trial().unwrap();
    assert!(
        pruned
            .iter()
            .all(|t| t.values()["rate"].as_f64() < best.values()["rate"].as_f64())
    );
}

/// Records the study name and trial numbers its questions come with; never prunes.
#[derive(Default)]
struct NameRecorder(Arc<Mutex<Vec<(String, u64)>>>);

impl Pruner for NameRecorder {
    fn prune(&self, _: Direction, _: &[FrozenTrial], _: &FrozenTrial) -> bool {
        false
    }

    fn prune_view(&self, _: Direction, study: &StudyView<'_>, trial: &FrozenTrial) -> bool {
        self.0
            .lock()
            .unwrap()
            .push((study.name().to_owned(), trial.number));
        false
    }
}

#[test]
fn pruners_see_the_study_name() {
    // Hyperband assigns brackets by a hash of "{study name}_{number}", as Optuna does: the name
    // must reach the pruner through the view on every question.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let study = Study::builder("named-study")
        .with_pruner(NameRecorder(seen.clone()))
        .load_or_create()
        .unwrap();
    study
        .optimize(3, |trial| {
            trial.report(1, 0.5)?;
            assert!(!trial.should_prune()?);
            Ok::<_, TuneError>(0.5)
        })
        .unwrap();
    let seen = seen.lock().unwrap();
    let expected: Vec<_> = (0..3).map(|n| ("named-study".to_owned(), n)).collect();
    assert_eq!(*seen, expected);
}

#[test]
fn ask_tell_and_summaries() {
    let study = Study::builder("asktell").load_or_create().unwrap();
    for i in 0..5 {
        let mut trial = study.ask().unwrap();
        let x = trial
            .suggest_float("x, with comma", 0.0, 1.0)
            .uniform()
            .unwrap();
        let state = study.tell(trial, Ok(x + i as f64)).unwrap();
        assert_eq!(state, TrialState::Complete);
    }
    let csv = study.trials_csv().unwrap();
    assert!(csv.starts_with("number,state,value,duration_s,error,\"param_x, with comma\"\n"));
    assert_eq!(csv.lines().count(), 6);
    let json: serde_json::Value = serde_json::from_str(&study.trials_json().unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 5);
    assert_eq!(study.best_trial().unwrap().number, 0);
    // Asking a name twice gives the same value; another distribution is an error.
    let mut trial = study.ask().unwrap();
    let a = trial.suggest_float("y", 0.0, 1.0).uniform().unwrap();
    assert_eq!(trial.suggest_float("y", 0.0, 1.0).uniform().unwrap(), a);
    let err = trial.suggest_float("y", 0.0, 2.0).uniform().unwrap_err();
    assert!(err.to_string().contains("`y`"), "{err}");
    // A study keeps its direction: resuming it the other way round is an error.
    let storage = Arc::new(InMemoryStorage::new());
    Study::builder("directed")
        .with_storage(storage.clone())
        .load_or_create()
        .unwrap();
    let err = Study::builder("directed")
        .with_direction(Direction::Maximize)
        .with_storage(storage)
        .load_or_create()
        .unwrap_err();
    assert!(err.to_string().contains("direction"), "{err}");
}

#[test]
fn declarative_spaces_from_toml() {
    let space = SearchSpace::from_toml(
        r#"
        [lr]
        type = "float"
        low = 1e-5
        high = 0.1
        log = true

        [hidden]
        type = "int"
        low = 32
        high = 512
        step = 32

        [optimizer]
        type = "categorical"
        choices = ["adam", "sgd"]
        "#,
    )
    .unwrap();
    let study = Study::builder("space").load_or_create().unwrap();
    study
        .optimize(10, |trial| {
            let values = space.suggest_all(trial)?;
            let lr = values["lr"].as_f64().unwrap();
            let hidden = values["hidden"].as_i64().unwrap();
            assert!((1e-5..=0.1).contains(&lr));
            assert!(hidden % 32 == 0 && (32..=512).contains(&hidden));
            Ok::<_, TuneError>(lr)
        })
        .unwrap();
    let err = SearchSpace::from_toml("[lr]\ntype = \"float\"\nlow = 0.0\nhigh = 1.0\nlog = true\n")
        .unwrap_err();
    assert!(
        err.to_string().contains("`lr`") && err.to_string().contains("low > 0"),
        "{err}"
    );
    let err = SearchSpace::from_toml("[lr]\ntype = \"gaussian\"\n").unwrap_err();
    assert!(err.to_string().contains("gaussian"), "{err}");
}

#[test]
fn a_study_refuses_pruner_settings_it_would_have_clamped() {
    use kiln_tune::{HyperbandPruner, PercentilePruner, Pruner, SuccessiveHalvingPruner};
    use std::time::Duration;

    fn refused(pruner: impl Pruner + 'static) -> String {
        match Study::builder("bad").with_pruner(pruner).load_or_create() {
            Err(TuneError::Invalid { field, .. }) => field,
            Err(other) => panic!("expected an invalid setting, got {other}"),
            Ok(_) => panic!("the study took an invalid pruner"),
        }
    }
    assert_eq!(refused(PercentilePruner::new(150.0)), "percentile");
    assert_eq!(refused(PercentilePruner::new(f64::NAN)), "percentile");
    assert_eq!(
        refused(PercentilePruner::new(25.0).with_interval_steps(0)),
        "interval_steps"
    );
    assert_eq!(
        refused(PercentilePruner::new(25.0).with_n_min_trials(0)),
        "n_min_trials"
    );
    assert_eq!(refused(SuccessiveHalvingPruner::new(0, 3)), "min_resource");
    assert_eq!(
        refused(SuccessiveHalvingPruner::new(1, 1)),
        "reduction_factor"
    );
    assert_eq!(refused(HyperbandPruner::new(0, 27, 3)), "min_resource");
    assert_eq!(refused(HyperbandPruner::new(9, 3, 3)), "max_resource");
    let boxed: Box<dyn Pruner> = Box::new(SuccessiveHalvingPruner::new(1, 0));
    assert_eq!(refused(boxed), "reduction_factor");
    // Valid settings pass.
    assert!(
        Study::builder("good")
            .with_pruner(HyperbandPruner::new(1, 27, 3))
            .load_or_create()
            .is_ok()
    );
    match Study::builder("beat")
        .with_heartbeat(Duration::ZERO)
        .load_or_create()
    {
        Err(TuneError::Invalid { field, .. }) => assert_eq!(field, "heartbeat"),
        _ => panic!("a zero heartbeat was accepted"),
    }
}

/// Pruning is a state of the trial: an objective with its own error type prunes by carrying
/// `trial.pruned()` out in it, without the study downcasting anything.
#[test]
fn any_error_type_can_carry_a_pruned_trial() {
    #[derive(Debug)]
    struct Mine(String);
    impl std::fmt::Display for Mine {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "mine: {}", self.0)
        }
    }
    impl std::error::Error for Mine {}

    let study = Study::builder("own-errors").load_or_create().unwrap();
    study
        .optimize(2, |trial| -> Result<f64, Mine> {
            trial.report(1, 0.5).map_err(|e| Mine(e.to_string()))?;
            if trial.number() == 0 {
                return Err(Mine(trial.pruned().to_string()));
            }
            Err(Mine("a real failure".into()))
        })
        .unwrap();
    let states: Vec<TrialState> = study.trials().unwrap().iter().map(|t| t.state).collect();
    assert_eq!(states, [TrialState::Pruned, TrialState::Failed]);
}
