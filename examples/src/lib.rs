//! Helpers shared by Kiln's example binaries.

use std::process::ExitCode;

use kiln::train::{Control, EpochMetrics};

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
        println!(
            "epoch {:>2}  train loss {:.4}  acc {:.4}  test acc {:.4}  {:.1} s ({:.0} samples/s)",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            m.valid_accuracy.unwrap_or(f64::NAN),
            m.seconds,
            rows as f64 / m.seconds
        );
        Control::Continue
    }
}
