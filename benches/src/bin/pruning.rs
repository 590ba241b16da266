//! Pruners on simulated learning curves: the total steps trained and the regret (best final
//! value found − best final value among all configurations) of each Kiln pruner, over seeds.
//! `benches/compare_pruning.sh` runs it beside `benches/optuna_pruning.py`, which replays the
//! very same curves (written with `--write-curves`) through Optuna's pruners.
//!
//! A curve is `y(t) = a + b·exp(−c·t) + noise` for t = 1…steps, minimized, with `a` uniform on
//! [0.1, 1], `b` on [0.5, 2], `c` log-uniform on [0.01, 0.3] and Gaussian noise (σ = 0.02), so
//! slow learners that end low cross fast ones that stall. Trials run one after another, trial
//! `i` replaying curve `i` and reporting every step.
//!
//! ```text
//! cargo run --release -p kiln-benches --bin pruning -- --seeds 20
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use clap::Parser;
use kiln::tune::{
    HyperbandPruner, MedianPruner, NopPruner, Pruner, RandomSampler, Study, TrialState, TuneError,
};
use kiln_benches::median;

/// Replay learning curves through each pruner.
#[derive(Parser)]
struct Args {
    /// Seeds (independent sets of curves).
    #[arg(long, default_value_t = 20)]
    seeds: u64,
    /// Configurations (trials) per seed.
    #[arg(long, default_value_t = 200)]
    configs: usize,
    /// Steps per curve.
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Also run Hyperband with seeded bracket hashes 1..=N (its default hashes the study name
    /// and trial number, as Optuna does).
    #[arg(long, default_value_t = 0)]
    bracket_seeds: u64,
    /// Write the curves as JSON (`[seed][config][step]`) for the Optuna script, and stop.
    #[arg(long)]
    write_curves: Option<std::path::PathBuf>,
}

/// SplitMix64: a tiny seeded generator, so the curves are fixed by the seed alone.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform on [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (1.0 - self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn curves(seed: u64, configs: usize, steps: usize) -> Vec<Vec<f64>> {
    let mut rng = Mix(seed);
    (0..configs)
        .map(|_| {
            let a = 0.1 + 0.9 * rng.uniform();
            let b = 0.5 + 1.5 * rng.uniform();
            let c = (0.01f64.ln() + rng.uniform() * (0.3f64.ln() - 0.01f64.ln())).exp();
            (1..=steps)
                .map(|t| a + b * (-c * t as f64).exp() + 0.02 * rng.normal())
                .collect()
        })
        .collect()
}

/// Total steps trained and regret of one study over `curves`.
fn replay(pruner: impl Pruner + 'static, curves: &[Vec<f64>]) -> anyhow::Result<(u64, f64)> {
    let study = Study::builder("pruning")
        .with_sampler(RandomSampler::new(0))
        .with_pruner(pruner)
        .load_or_create()?;
    let steps = AtomicU64::new(0);
    study.optimize(curves.len(), |trial| {
        let curve = &curves[trial.number() as usize];
        for (t, &y) in curve.iter().enumerate() {
            steps.fetch_add(1, Ordering::Relaxed);
            trial.report(t as u64 + 1, y)?;
            if trial.should_prune()? {
                return Err(trial.pruned());
            }
        }
        Ok::<_, TuneError>(curve[curve.len() - 1])
    })?;
    let best = study
        .trials()?
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter_map(|t| t.value)
        .fold(f64::INFINITY, f64::min);
    let optimum = curves
        .iter()
        .map(|c| c[c.len() - 1])
        .fold(f64::INFINITY, f64::min);
    Ok((steps.into_inner(), best - optimum))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sets: Vec<Vec<Vec<f64>>> = (0..args.seeds)
        .map(|seed| curves(seed, args.configs, args.steps))
        .collect();
    if let Some(path) = &args.write_curves {
        std::fs::write(path, serde_json::to_string(&sets)?)?;
        return Ok(());
    }
    println!(
        "{} seeds × {} configurations × {} steps",
        args.seeds, args.configs, args.steps
    );
    println!("pruner\tmean steps\tmedian regret\tmean regret");
    type Make = fn() -> Box<dyn Pruner>;
    let pruners: [(&str, Make); 4] = [
        ("none", || Box::new(NopPruner)),
        ("median", || Box::new(MedianPruner::new())),
        ("successive_halving", || {
            Box::new(kiln::tune::SuccessiveHalvingPruner::default())
        }),
        ("hyperband", || Box::new(HyperbandPruner::default())),
    ];
    let run = |name: &str, make: &dyn Fn() -> Box<dyn Pruner>| -> anyhow::Result<()> {
        let mut steps = Vec::new();
        let mut regrets = Vec::new();
        for set in &sets {
            let (s, r) = replay(make(), set)?;
            steps.push(s as f64);
            regrets.push(r);
        }
        println!(
            "{name}\t{:.0}\t{:.4}\t{:.4}",
            steps.iter().sum::<f64>() / steps.len() as f64,
            median(&regrets),
            regrets.iter().sum::<f64>() / regrets.len() as f64
        );
        Ok(())
    };
    for (name, make) in pruners {
        run(name, &make)?;
    }
    // Which curves land in Hyperband's aggressive brackets is a hash (of the study name and
    // trial number, by default, as in Optuna): seeded hashes show how much the assignment
    // alone moves the figures.
    for seed in 1..=args.bracket_seeds {
        run(&format!("hyperband (bracket seed {seed})"), &|| {
            Box::new(HyperbandPruner::default().with_seed(seed))
        })?;
    }
    Ok(())
}
