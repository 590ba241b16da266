//! Helpers shared by Kiln's example binaries.

use std::process::ExitCode;

use kiln::burn::tensor::Device;
use kiln::train::{Control, EpochMetrics};

/// The options every training example takes.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The device: flex, ndarray, cpu, wgpu or cuda (each needs its Cargo feature).
    #[arg(long, default_value = "flex")]
    pub device: String,
    /// Seed for the split (where there is one), initialization, shuffling and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl RunArgs {
    /// The chosen device, or an error saying which ones are compiled in.
    pub fn device(&self) -> anyhow::Result<Device> {
        Ok(kiln::backend::device(&self.device)?)
    }
}

/// Exit status 0, or the error (with its causes) on stderr and status 2.
pub fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}

/// An epoch observer that prints one line per epoch for a training set of `rows` rows.
pub fn print_epochs(rows: usize) -> impl FnMut(&EpochMetrics) -> Control + Send {
    move |m: &EpochMetrics| {
        let scores: String = m
            .values()
            .into_iter()
            .filter(|(name, _)| !matches!(*name, "learning_rate" | "epoch_seconds"))
            .map(|(name, value)| format!("  {} {value:.4}", name.replace('_', " ")))
            .collect();
        println!(
            "epoch {:>2}{scores}  {:.1} s ({:.0} samples/s)",
            m.epoch,
            m.seconds,
            rows as f64 / m.seconds
        );
        Control::Continue
    }
}
