//! Tuning a trainer: each epoch's validation accuracy reaches the trial through the trainer's
//! epoch event, and a pruned trial stops training early.

use kiln::prelude::*;
use kiln::tune::{Direction, MedianPruner, RandomSampler, Study, TrialState};
use kiln::tuning::PruneOnEpoch;

use crate::common::turn;
use crate::iris::Iris;

#[test]
fn pruned_trials_stop_training_early() {
    let _turn = turn();
    let (train, valid) = Iris::split(0.3).sets();
    let study = Study::builder("iris-mlp")
        .with_direction(Direction::Maximize)
        .with_sampler(RandomSampler::new(3))
        .with_pruner(MedianPruner::new().with_n_startup_trials(2))
        .load_or_create()
        .unwrap();
    let epochs = 8;
    study
        .optimize(
            10,
            |trial| -> Result<f64, Box<dyn std::error::Error + Send + Sync>> {
                // From hopeless (1e-5) to good (1e-1) learning rates.
                let lr = trial.suggest_float("lr", 1e-5, 1e-1).log()?;
                let mut trainer = Trainer::new(TrainConfig::new(epochs, 16, lr), Device::flex())?
                    .with_progress(false)
                    .with_observer(PruneOnEpoch::valid_accuracy(trial.reporter()));
                let fitted = trainer.fit(
                    &MlpConfig::new(4, 3).with_hidden(vec![8]),
                    &train,
                    Some(&valid),
                )?;
                if trial.was_pruned() {
                    assert!(
                        fitted.history.len() < epochs,
                        "training went on after pruning"
                    );
                    return Err(trial.pruned().into());
                }
                Ok(fitted
                    .history
                    .last()
                    .and_then(|m| m.valid_accuracy)
                    .unwrap_or(0.0))
            },
        )
        .unwrap();
    let trials = study.trials().unwrap();
    let pruned: Vec<_> = trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    assert!(!pruned.is_empty(), "no trial was pruned");
    assert!(pruned.iter().all(|t| t.intermediate.len() < epochs));
    let complete = trials.iter().filter(|t| t.state == TrialState::Complete);
    assert!(complete.clone().all(|t| t.intermediate.len() == epochs));
    assert!(study.best_trial().unwrap().value.unwrap() > 0.85);
}
