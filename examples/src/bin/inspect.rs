//! Loads a CSV, prints its inferred schema, column profile and data-quality report.
//!
//! ```text
//! cargo run --release -p kiln-examples --bin inspect -- datasets/tabular/penguins.csv --target label
//! cargo run --release -p kiln-examples --bin inspect -- iris --json
//! cargo run --release -p kiln-examples --bin inspect -- data.csv --target y --checks suite.toml --strict
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use kiln::data::{CsvLoader, QualitySuite, TableProfile, datasets};

/// Inspect a CSV file: schema, profile and data-quality checks.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// A CSV file (plain or .gz), or the name of a bundled dataset (e.g. `iris`).
    input: String,
    /// The target column (bundled datasets default to `label` or `target`).
    #[arg(long)]
    target: Option<String>,
    /// A TOML or JSON quality suite; default checks when absent.
    #[arg(long)]
    checks: Option<PathBuf>,
    /// Print the profile and report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Exit with status 1 when a quality check fails (errors exit with 2).
    #[arg(long)]
    strict: bool,
}

fn main() -> ExitCode {
    kiln_examples::exit_code(run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = PathBuf::from(&args.input);
    let table = if path.exists() {
        let mut loader = CsvLoader::new();
        if let Some(target) = &args.target {
            loader = loader.with_target(target);
        }
        loader.load(&path)?
    } else if datasets::TABULAR.contains(&args.input.as_str()) {
        let table = datasets::tabular(&args.input)?;
        match &args.target {
            Some(target) => table.with_target(target)?,
            None => table,
        }
    } else {
        anyhow::bail!(
            "`{}` is neither a file nor a bundled dataset ({})",
            args.input,
            datasets::TABULAR.join(", ")
        );
    };
    let suite = match &args.checks {
        Some(file) => QualitySuite::from_file(file)
            .with_context(|| format!("loading checks from {}", file.display()))?,
        None => QualitySuite::defaults_for(&table),
    };
    let profile = TableProfile::from_table(&table);
    let report = suite.run(&table)?;
    if args.json {
        println!(
            "{{\"schema\": {}, \"profile\": {}, \"quality\": {}}}",
            serde_json::to_string(table.schema())?,
            profile.to_json()?,
            report.to_json()?
        );
    } else {
        println!("== {} ({} rows)", args.input, table.rows());
        println!("\n== Schema");
        print!("{}", table.schema());
        if let Some(target) = table.target() {
            println!("  target: {}", target.name());
        }
        println!("\n== Profile");
        print!("{profile}");
        println!("\n== Quality");
        print!("{report}");
    }
    Ok(if args.strict && !report.passed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
