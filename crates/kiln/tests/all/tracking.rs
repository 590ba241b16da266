//! Training and tuning log to a tracker with one line each, and the report draws them.

use kiln::prelude::*;
use kiln::track::{OBJECTIVE, Report, RunStatus, STUDY_TAG, Tracker};
use kiln::tracking::{LogEpochs, track_trials};
use kiln::tune::{Direction, RandomSampler, Study};

use crate::common::turn;
use crate::iris::iris;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[test]
fn a_trainer_logs_every_epoch() {
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::local(dir.path());
    let run = tracker.start_run("iris", "mlp");
    let (data, _) = iris();
    let mut trainer = Trainer::new(TrainConfig::new(4, 16, 0.01), Device::flex())
        .unwrap()
        .with_progress(false)
        .with_observer(LogEpochs::new(run.clone()));
    let fitted = trainer
        .fit(
            &MlpConfig::new(4, 3).with_hidden(vec![8]),
            &data,
            Some(&data),
        )
        .unwrap();
    run.finish(RunStatus::Finished);
    let back = tracker.store().run(&run.id().unwrap()).unwrap();
    let loss: Vec<f64> = back.metrics["train_loss"].iter().map(|p| p.value).collect();
    let want: Vec<f64> = fitted.history.iter().map(|m| m.train_loss).collect();
    assert_eq!(loss, want);
    assert_eq!(back.metrics["valid_accuracy"].len(), 4);
    assert_eq!(back.metrics["valid_accuracy"][3].step, 4);
}

#[test]
fn a_study_logs_every_trial() {
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::local(dir.path());
    let study = Study::builder("quadratic")
        .with_direction(Direction::Minimize)
        .with_sampler(RandomSampler::new(1))
        .load_or_create()
        .unwrap();
    study
        .optimize(
            12,
            track_trials(&tracker, &study, |trial| -> Result<f64, BoxError> {
                let x = trial.suggest_float("x", -3.0, 3.0).uniform()?;
                let kind = trial.suggest_categorical("kind", &["a", "b"])?;
                trial.report(0, x.abs())?;
                if x > 2.5 {
                    return Err("too far".into());
                }
                Ok(x * x + if kind == "a" { 0.0 } else { 1.0 })
            }),
        )
        .unwrap();
    let runs = tracker.store().runs(Some("quadratic")).unwrap();
    assert_eq!(runs.len(), 12);
    let trials = study.trials().unwrap();
    for t in &trials {
        let run = runs
            .iter()
            .find(|r| r.tags.get("kiln.trial") == Some(&t.number.to_string()))
            .unwrap();
        assert_eq!(run.tags[STUDY_TAG], "quadratic");
        assert_eq!(run.params["x"], t.values()["x"].to_string());
        assert_eq!(run.metrics["intermediate"].len(), 1);
        match t.value {
            Some(v) => {
                assert_eq!(run.status, RunStatus::Finished);
                assert_eq!(run.last(OBJECTIVE), Some(v));
            }
            None => assert_eq!(run.status, RunStatus::Failed),
        }
    }
    let html = Report::from_store(tracker.store().as_ref(), None)
        .unwrap()
        .to_html();
    assert!(html.contains("id=\"optimization-history\"") && html.contains("id=\"slice-kind\""));
}

#[test]
fn a_multi_objective_study_logs_each_objective_and_reports_its_pareto_front() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::local(dir.path());
    let study = Study::builder("trade-off")
        .with_directions([Direction::Maximize, Direction::Minimize])
        .with_sampler(RandomSampler::new(3))
        .load_or_create()
        .unwrap();
    study
        .optimize(
            20,
            track_trials(&tracker, &study, |trial| -> Result<(f64, f64), BoxError> {
                let w = trial.suggest_float("width", 1.0, 100.0).log()?;
                if trial.number() == 0 {
                    // A NaN fails the trial in the study, and so its run.
                    return Ok((f64::NAN, w));
                }
                // Accuracy rises with the width and saturates; size grows linearly.
                Ok((1.0 - 1.0 / w, w))
            }),
        )
        .unwrap();
    let runs = tracker.store().runs(Some("trade-off")).unwrap();
    assert_eq!(runs.len(), 20);
    for t in study.trials().unwrap() {
        let run = runs
            .iter()
            .find(|r| r.tags.get("kiln.trial") == Some(&t.number.to_string()))
            .unwrap();
        assert_eq!(run.tags["kiln.direction"], "maximize,minimize");
        if t.number == 0 {
            assert_eq!(t.state, kiln::tune::TrialState::Failed);
            assert_eq!(run.status, RunStatus::Failed);
            assert!(run.metrics.is_empty());
            continue;
        }
        assert_eq!(run.last("objective_0"), Some(t.values[0]));
        assert_eq!(run.last("objective_1"), Some(t.values[1]));
        assert_eq!(run.last(OBJECTIVE), Some(t.values[0]));
    }
    // Every completed trial is on this front (more accuracy always costs size).
    assert_eq!(study.best_trials().unwrap().len(), 19);
    let html = Report::from_store(tracker.store().as_ref(), None)
        .unwrap()
        .to_html();
    assert!(html.contains("id=\"pareto-front\""), "no Pareto plot");
    assert!(html.contains("Pareto front: 19 of 19 complete trials."));
    assert!(html.contains("maximize, minimize"));
}
