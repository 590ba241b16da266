//! Search quality of Kiln's samplers on two standard test functions: the simple regret
//! (best value found − known optimum) over 30 seeds at 50 and 100 trials, as median and
//! quartiles. Optuna 5.0's default (multivariate) TPE on the same functions, for reference:
//! median regret at 50 / 100 trials — Branin 0.131 / 0.0204, Hartmann6 0.344 / 0.129.
//!
//! ```text
//! cargo run --release -p kiln-benches --bin hpo_quality
//! cargo run --release -p kiln-benches --bin hpo_quality -- --seeds 10 --sampler tpe
//! cargo run --release -p kiln-benches --bin hpo_quality -- --seeds 300 --sampler tpe --optuna-defaults
//! /tmp/optuna-venv/bin/python benches/optuna_hpo.py 300   # Optuna itself, same functions
//! ```

use clap::Parser;
use kiln::tune::{
    Direction, QmcSampler, RandomSampler, Sampler, Study, TpeSampler, TpeStartup, Trial, TuneError,
};
use kiln_benches::median;

/// Measure sampler regret.
#[derive(Parser)]
struct Args {
    /// Seeds per sampler and function.
    #[arg(long, default_value_t = 30)]
    seeds: u64,
    /// Samplers, comma separated: random, qmc, tpe-independent, tpe.
    #[arg(
        long,
        default_value = "random,qmc,tpe-independent,tpe",
        value_delimiter = ','
    )]
    sampler: Vec<String>,
    /// TPE candidates per decision [default: TpeSampler's, 64].
    #[arg(long)]
    candidates: Option<usize>,
    /// TPE's share of "below" trials [default: TpeSampler's, 0.15].
    #[arg(long)]
    gamma: Option<f64>,
    /// Run TPE as Optuna does: random startup trials, 24 candidates and γ = 0.1.
    #[arg(long)]
    optuna_defaults: bool,
}

/// Branin on [-5, 10] × [0, 15]; minimum 0.397887.
fn branin(trial: &mut Trial) -> Result<f64, TuneError> {
    let x1 = trial.suggest_float("x1", -5.0, 10.0).uniform()?;
    let x2 = trial.suggest_float("x2", 0.0, 15.0).uniform()?;
    let pi = std::f64::consts::PI;
    let (a, b, c, r, s, t) = (
        1.0,
        5.1 / (4.0 * pi * pi),
        5.0 / pi,
        6.0,
        10.0,
        1.0 / (8.0 * pi),
    );
    Ok(a * (x2 - b * x1 * x1 + c * x1 - r).powi(2) + s * (1.0 - t) * x1.cos() + s)
}

/// Hartmann6 on [0, 1]^6; minimum −3.32237.
fn hartmann6(trial: &mut Trial) -> Result<f64, TuneError> {
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    let mut x = [0.0; 6];
    for (i, xi) in x.iter_mut().enumerate() {
        *xi = trial.suggest_float(&format!("x{i}"), 0.0, 1.0).uniform()?;
    }
    let mut total = 0.0;
    for k in 0..4 {
        let inner: f64 = (0..6).map(|j| A[k][j] * (x[j] - P[k][j]).powi(2)).sum();
        total -= ALPHA[k] * (-inner).exp();
    }
    Ok(total)
}

fn sampler(name: &str, seed: u64, args: &Args) -> anyhow::Result<Box<dyn Sampler>> {
    let mut tpe = TpeSampler::new(seed);
    if args.optuna_defaults {
        tpe = tpe
            .with_startup(TpeStartup::Random)
            .with_n_ei_candidates(24)
            .with_gamma(0.1);
    }
    if let Some(g) = args.gamma {
        tpe = tpe.with_gamma(g);
    }
    if let Some(c) = args.candidates {
        tpe = tpe.with_n_ei_candidates(c);
    }
    Ok(match name {
        "random" => Box::new(RandomSampler::new(seed)),
        "qmc" => Box::new(QmcSampler::new(seed)),
        "tpe-independent" => Box::new(tpe.with_multivariate(false)),
        "tpe" => Box::new(tpe),
        other => anyhow::bail!("unknown sampler `{other}`"),
    })
}

fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (v.len() - 1) as f64;
        let (i, f) = (pos.floor() as usize, pos.fract());
        if i + 1 < v.len() {
            v[i] + (v[i + 1] - v[i]) * f
        } else {
            v[i]
        }
    };
    (q(0.25), median(&v), q(0.75))
}

type Objective = fn(&mut Trial) -> Result<f64, TuneError>;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let functions: [(&str, Objective, f64); 2] = [
        ("branin", branin, 0.397_887),
        ("hartmann6", hartmann6, -3.322_37),
    ];
    println!("simple regret over {} seeds: median [q1, q3]", args.seeds);
    for (fname, f, optimum) in functions {
        for name in &args.sampler {
            let started = std::time::Instant::now();
            let (mut at50, mut at100) = (Vec::new(), Vec::new());
            for seed in 0..args.seeds {
                let study = Study::builder(fname)
                    .with_direction(Direction::Minimize)
                    .with_sampler(sampler(name, seed, &args)?)
                    .load_or_create()?;
                study.optimize(100, f)?;
                let trials = study.trials()?;
                let best_of = |n: usize| {
                    trials[..n]
                        .iter()
                        .filter_map(|t| t.value)
                        .fold(f64::INFINITY, f64::min)
                        - optimum
                };
                at50.push(best_of(50));
                at100.push(best_of(100));
            }
            let (a1, am, a3) = quartiles(at50);
            let (b1, bm, b3) = quartiles(at100);
            println!(
                "{fname:<10} {name:<16} 50 trials {am:.4} [{a1:.4}, {a3:.4}]   100 trials {bm:.4} [{b1:.4}, {b3:.4}]   ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
