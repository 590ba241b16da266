//! Training throughput of the benchmark MLP, CNN and residual CNN (Adam, batch 128 unless
//! told) through Kiln's trainer, printed as samples per second: the Kiln side of
//! `benches/compare_pytorch_train.sh` and `benches/gpu.sh`.
//!
//! ```text
//! cargo run --release -p kiln-benches --bin train_step
//! cargo run --release -p kiln-benches --bin train_step -- --device wgpu --steps 20
//! cargo run --release -p kiln-benches --bin train_step -- --workload resnet --batch 1024
//! ```

use clap::Parser;
use kiln_benches::{Workload, median, training_throughput};

/// Measure training samples/s.
#[derive(Parser)]
struct Args {
    /// Devices, comma separated [default: every compiled-in device].
    #[arg(long, value_delimiter = ',')]
    device: Vec<String>,
    /// Workloads, comma separated: mlp, cnn, resnet.
    #[arg(long, default_value = "mlp,cnn", value_delimiter = ',')]
    workload: Vec<String>,
    /// Batches per epoch.
    #[arg(long, default_value_t = 40)]
    steps: usize,
    /// Samples per batch.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Epochs; the first is warm-up, the median of the rest is reported.
    #[arg(long, default_value_t = 4)]
    epochs: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let devices: Vec<(String, kiln::burn::tensor::Device)> = if args.device.is_empty() {
        kiln::backend::enabled_devices()
            .into_iter()
            .map(|(n, d)| (n.to_owned(), d))
            .collect()
    } else {
        args.device
            .iter()
            .map(|n| Ok((n.clone(), kiln::backend::device(n)?)))
            .collect::<anyhow::Result<_>>()?
    };
    if let Some(w) = args
        .workload
        .iter()
        .find(|w| !Workload::ALL.iter().any(|k| k.name() == w.as_str()))
    {
        anyhow::bail!("unknown workload `{w}`: use mlp, cnn or resnet");
    }
    for (name, device) in devices {
        for workload in Workload::ALL {
            if !args.workload.iter().any(|w| w == workload.name()) {
                continue;
            }
            let rates = training_throughput(
                workload,
                device.clone(),
                args.steps,
                args.epochs,
                args.batch,
            )?;
            let measured = if rates.len() > 1 {
                &rates[1..]
            } else {
                &rates[..]
            };
            println!(
                "kiln {name} {}: {:.0} samples/s (median of {} epochs of {} steps of {}; warm-up {:.0})",
                workload.name(),
                median(measured),
                measured.len(),
                args.steps,
                args.batch,
                rates[0]
            );
        }
    }
    Ok(())
}
