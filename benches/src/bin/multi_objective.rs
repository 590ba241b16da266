//! Multi-objective search quality: the hypervolume of the Pareto front each Kiln sampler finds
//! on ZDT1 and ZDT2 (Zitzler, Deb & Thiele, 2000: two objectives, known fronts f2 = 1 − √f1
//! and f2 = 1 − f1²) within a budget of trials, median over seeds; with the standard 30
//! variables on [0, 1], and with 3 (the size of a typical hyperparameter search).
//! `benches/compare_multi_objective.sh` runs it beside `benches/optuna_multi_objective.py`
//! (Optuna's NSGA-II and multi-objective TPE on the same problems, budget, seeds and reference
//! point).
//!
//! Hypervolume is measured against the reference point (1.1, 11): f1 ≤ 1 and f2 ≤ g ≤ 10 for
//! every point, so every trial counts. The true fronts' hypervolumes are printed for scale.
//!
//! ```text
//! cargo run --release -p kiln-benches --bin multi_objective -- --trials 500 --seeds 10 --vars 30,3
//! ```

use std::time::Instant;

use clap::Parser;
use kiln::tune::{
    Crossover, Direction, Mutation, Nsga2Sampler, Sampler, Study, TpeSampler, TuneError,
    hypervolume,
};
use kiln_benches::median;

/// Hypervolume per sampler and problem.
#[derive(Parser)]
struct Args {
    /// Trials per study.
    #[arg(long, default_value_t = 500)]
    trials: usize,
    /// Seeds (independent studies per sampler and problem).
    #[arg(long, default_value_t = 10)]
    seeds: u64,
    /// Variables of each ZDT problem (each count is a separate run).
    #[arg(long, default_value = "30,3", value_delimiter = ',')]
    vars: Vec<usize>,
    /// Seeds for the multi-objective TPE (Optuna's takes ~40 s per study of 500 trials here,
    /// so the comparison runs it on fewer seeds; 0 skips it).
    #[arg(long, default_value_t = 3)]
    tpe_seeds: u64,
}

const REFERENCE: [f64; 2] = [1.1, 11.0];

fn zdt(problem: &str, x: &[f64]) -> (f64, f64) {
    let f1 = x[0];
    let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / (x.len() - 1) as f64;
    let h = match problem {
        "zdt1" => 1.0 - (f1 / g).sqrt(),
        _ => 1.0 - (f1 / g).powi(2),
    };
    (f1, g * h)
}

fn true_volume(problem: &str) -> f64 {
    let front: Vec<Vec<f64>> = (0..=100_000)
        .map(|i| {
            let f1 = f64::from(i) / 100_000.0;
            let f2 = if problem == "zdt1" {
                1.0 - f1.sqrt()
            } else {
                1.0 - f1 * f1
            };
            vec![f1, f2]
        })
        .collect();
    hypervolume(&front, &REFERENCE)
}

fn run(
    problem: &str,
    sampler: impl Sampler + 'static,
    trials: usize,
    vars: usize,
) -> Result<f64, TuneError> {
    let study = Study::builder(problem)
        .with_directions([Direction::Minimize, Direction::Minimize])
        .with_sampler(sampler)
        .load_or_create()?;
    let names: Vec<String> = (0..vars).map(|i| format!("x{i:02}")).collect();
    study.optimize(trials, |trial| {
        let x: Vec<f64> = names
            .iter()
            .map(|n| trial.suggest_float(n, 0.0, 1.0).uniform())
            .collect::<Result<_, _>>()?;
        Ok::<_, TuneError>(zdt(problem, &x))
    })?;
    let front: Vec<Vec<f64>> = study.best_trials()?.into_iter().map(|t| t.values).collect();
    Ok(hypervolume(&front, &REFERENCE))
}

type Make = fn(u64) -> Box<dyn Sampler>;

/// A sampler to compare: its name, how to make it from a seed, and how many seeds it gets.
struct Entry {
    name: &'static str,
    make: Make,
    seeds: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut samplers = vec![
        Entry {
            name: "nsga2 (kiln default: sbx + polynomial)",
            make: |s| Box::new(Nsga2Sampler::new(s)),
            seeds: args.seeds,
        },
        Entry {
            name: "nsga2 (optuna operators: uniform + resample)",
            make: |s| {
                Box::new(
                    Nsga2Sampler::new(s)
                        .with_crossover(Crossover::Uniform { swapping_prob: 0.5 })
                        .with_mutation(Mutation::Resample),
                )
            },
            seeds: args.seeds,
        },
    ];
    samplers.push(Entry {
        name: "tpe (multi-objective, multivariate: default)",
        make: |s| Box::new(TpeSampler::new(s)),
        seeds: args.tpe_seeds,
    });
    samplers.push(Entry {
        name: "tpe (multi-objective, independent)",
        make: |s| Box::new(TpeSampler::new(s).with_multivariate(false)),
        seeds: args.tpe_seeds,
    });
    samplers.retain(|e| e.seeds > 0);
    println!(
        "{} trials, reference point ({}, {})",
        args.trials, REFERENCE[0], REFERENCE[1]
    );
    for (problem, vars) in args
        .vars
        .iter()
        .flat_map(|&v| ["zdt1", "zdt2"].map(|p| (p, v)))
    {
        println!(
            "{problem}, {vars} variables: true front hypervolume {:.4}",
            true_volume(problem)
        );
        for Entry { name, make, seeds } in &samplers {
            let started = Instant::now();
            let mut volumes = Vec::new();
            for seed in 0..*seeds {
                volumes.push(run(problem, make(seed), args.trials, vars)?);
            }
            println!(
                "  {name:<46} {seeds:>2} seeds: median hypervolume {:.4} (min {:.4}, max {:.4}) \
                 {:.1} s",
                median(&volumes),
                volumes.iter().copied().fold(f64::INFINITY, f64::min),
                volumes.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
