//! What the trainer fits: classification or regression data, behind one sealed trait.

use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::tensor::{Device, Int, Tensor};

use crate::data::{ClassificationSet, RegressionSet};
use crate::error::Result;
use crate::metrics::{RegressionMetrics, r2};
use crate::model::Model;
use crate::trainer::{Evaluation, outputs};

/// Training data of a supervised task: [`ClassificationSet`] (cross-entropy loss, accuracy)
/// or [`RegressionSet`] (mean squared error, R²). Sealed: the trainer knows how to batch,
/// score and validate each.
pub trait Supervised: sealed::Sealed {
    /// What [`Trainer::evaluate`](crate::Trainer::evaluate) returns for this task.
    type Evaluation;

    /// Rows.
    fn len(&self) -> usize;

    /// Whether there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub(crate) mod sealed {
    use burn::tensor::Device;

    use super::{BatchLoss, Scores, Supervised};
    use crate::error::Result;
    use crate::model::Model;

    /// The trainer's view of a task.
    pub trait Sealed {
        /// The loss of the rows at `rows` (and, for classification, the hits).
        fn batch_loss<M: Model>(&self, model: &M, rows: &[usize], device: &Device) -> BatchLoss;
        /// Loss and task scores over every row, in batches of `batch` rows.
        fn scores<M: Model>(&self, model: &M, batch: usize, device: &Device) -> Scores;
        /// The task's evaluation of a model (on `device` without autodiff).
        fn evaluation<M: Model>(
            &self,
            model: &M,
            device: &Device,
            batch: usize,
        ) -> Result<<Self as Supervised>::Evaluation>
        where
            Self: Supervised;
    }
}

/// The loss of one batch and, for classification, how many rows it got right.
pub struct BatchLoss {
    pub loss: Tensor<1>,
    pub correct: Option<usize>,
}

/// Validation scores of a whole dataset.
#[derive(Debug, Clone, Copy)]
pub struct Scores {
    pub loss: f64,
    pub accuracy: Option<f64>,
    pub r2: Option<f64>,
}

impl Supervised for ClassificationSet {
    type Evaluation = Evaluation;

    fn len(&self) -> usize {
        ClassificationSet::len(self)
    }
}

impl Supervised for RegressionSet {
    type Evaluation = RegressionMetrics;

    fn len(&self) -> usize {
        RegressionSet::len(self)
    }
}

impl sealed::Sealed for ClassificationSet {
    fn batch_loss<M: Model>(&self, model: &M, rows: &[usize], device: &Device) -> BatchLoss {
        let (x, y) = self.batch(rows, device);
        let logits = model.forward_rows(x);
        let correct = count_correct(logits.clone(), y.clone());
        let loss = CrossEntropyLossConfig::new()
            .init(device)
            .forward(logits, y);
        BatchLoss {
            loss,
            correct: Some(correct),
        }
    }

    fn scores<M: Model>(&self, model: &M, batch: usize, device: &Device) -> Scores {
        let rows: Vec<usize> = (0..self.len()).collect();
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        for chunk in rows.chunks(batch) {
            let step = self.batch_loss(model, chunk, device);
            let loss: f32 = step.loss.into_scalar();
            loss_sum += f64::from(loss) * chunk.len() as f64;
            correct += step.correct.unwrap_or(0);
        }
        Scores {
            loss: loss_sum / self.len() as f64,
            accuracy: Some(correct as f64 / self.len() as f64),
            r2: None,
        }
    }

    fn evaluation<M: Model>(&self, model: &M, device: &Device, batch: usize) -> Result<Evaluation> {
        let device = device.clone().inner();
        let scores = self.scores(&model.clone().fork(&device), batch, &device);
        Ok(Evaluation {
            loss: scores.loss,
            accuracy: scores.accuracy.unwrap_or(0.0),
        })
    }
}

impl sealed::Sealed for RegressionSet {
    fn batch_loss<M: Model>(&self, model: &M, rows: &[usize], device: &Device) -> BatchLoss {
        let (x, y) = self.batch(rows, device);
        let predicted = model.forward_rows(x);
        BatchLoss {
            loss: MseLoss::new().forward(predicted, y, Reduction::Mean),
            correct: None,
        }
    }

    fn scores<M: Model>(&self, model: &M, batch: usize, device: &Device) -> Scores {
        let rows: Vec<usize> = (0..self.len()).collect();
        let mean = self.targets().iter().map(|&t| f64::from(t)).sum::<f64>() / self.len() as f64;
        let (mut ss_res, mut ss_tot) = (0.0f64, 0.0f64);
        for chunk in rows.chunks(batch) {
            let step = self.batch_loss(model, chunk, device);
            let loss: f32 = step.loss.into_scalar();
            ss_res += f64::from(loss) * chunk.len() as f64;
            ss_tot += chunk
                .iter()
                .map(|&i| (f64::from(self.targets()[i]) - mean).powi(2))
                .sum::<f64>();
        }
        Scores {
            loss: ss_res / self.len() as f64,
            accuracy: None,
            r2: Some(r2(ss_res, ss_tot)),
        }
    }

    fn evaluation<M: Model>(
        &self,
        model: &M,
        device: &Device,
        batch: usize,
    ) -> Result<RegressionMetrics> {
        let predicted = outputs(model, self.features(), device, batch)?;
        let predicted: Vec<f32> = (0..predicted.rows()).map(|r| predicted.row(r)[0]).collect();
        RegressionMetrics::new(self.targets(), &predicted)
    }
}

/// How many rows' arg-max logit equals the label.
fn count_correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> usize {
    let [batch, _] = logits.dims();
    let predicted: Tensor<1, Int> = logits.argmax(1).reshape([batch]);
    let hits: i64 = predicted.equal(labels).int().sum().into_scalar();
    hits as usize
}
