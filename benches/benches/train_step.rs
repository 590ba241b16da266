//! One training step (forward, cross-entropy, backward, Adam) of the benchmark MLP
//! (784-512-256-10), CNN (conv 1→32 3×3, pool, conv 32→64 3×3, pool, fc 1600→128→10) and
//! residual CNN (`ResidualCnnConfig`'s defaults) at batch 128, through Kiln's trainer, on every
//! compiled-in device.
//!
//! ```text
//! cargo bench -p kiln-benches --bench train_step
//! benches/compare_pytorch_train.sh   # samples/s against PyTorch CPU in one sitting
//! ```
//!
//! Each iteration is one epoch of `STEPS` steps on synthetic MNIST-shaped data, so the
//! reported throughput is in training samples per second.

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main,
};
use kiln::models::{CnnConfig, MlpConfig, ResidualCnnConfig};
use kiln::train::{ClassificationSet, ModelConfig, TrainConfig, Trainer};
use kiln_benches::{Workload, mnist_shaped};

const STEPS: usize = 4;

fn train_step(c: &mut Criterion) {
    let data = mnist_shaped(STEPS * 128, 7);
    let mut group = c.benchmark_group("train_step");
    group.throughput(Throughput::Elements((STEPS * 128) as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (name, device) in kiln::backend::enabled_devices() {
        for workload in Workload::ALL {
            let mut trainer = Trainer::new(TrainConfig::new(1, 128, 1e-3), device.clone())
                .expect("valid settings")
                .with_progress(false);
            let id = format!("{}/{name}", workload.name());
            match workload {
                Workload::Mlp => bench(
                    &mut group,
                    id,
                    &mut trainer,
                    &MlpConfig::new(784, 10),
                    &data,
                ),
                Workload::Cnn => bench(&mut group, id, &mut trainer, &CnnConfig::new(10), &data),
                Workload::Resnet => bench(
                    &mut group,
                    id,
                    &mut trainer,
                    &ResidualCnnConfig::new(10),
                    &data,
                ),
            }
        }
    }
    group.finish();
}

/// One epoch of `trainer` from a fresh `config` model per iteration.
fn bench<C: ModelConfig>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: String,
    trainer: &mut Trainer,
    config: &C,
    data: &ClassificationSet,
) {
    let model = trainer.build(config).expect("valid config");
    group.bench_function(id, |b| {
        b.iter_batched(
            || model.clone(),
            |m| trainer.fit_from(m, data, None).expect("training"),
            BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, train_step);
criterion_main!(benches);
