//! Seeded, reproducible train/test splits and cross-validation folds.
//!
//! Every function returns row indices; apply them with `take` on a [`Table`](crate::Table),
//! [`Matrix`](crate::Matrix) or dataset. The same inputs and seed give the same split on every
//! platform (ChaCha8). Parts never share a row, and together they cover every row.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// Row indices of a train/test split (or one cross-validation fold).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holdout {
    /// Rows to train on.
    pub train: Vec<usize>,
    /// Rows held out.
    pub test: Vec<usize>,
}

/// Shuffles `0..n` and holds out `round(n * test_fraction)` rows (at least 1, at most n − 1).
pub fn holdout(n: usize, test_fraction: f64, seed: u64) -> Result<Holdout> {
    let n_test = test_size(n, test_fraction)?;
    let mut rows: Vec<usize> = (0..n).collect();
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let test = rows.split_off(n - n_test);
    Ok(sorted(Holdout { train: rows, test }))
}

/// Like [`holdout`], but each class keeps its share in both parts (largest-remainder
/// rounding, so the test part has exactly `round(n * test_fraction)` rows).
pub fn stratified_holdout(labels: &[u32], test_fraction: f64, seed: u64) -> Result<Holdout> {
    let n_test = test_size(labels.len(), test_fraction)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut classes = by_class(labels);
    for rows in classes.values_mut() {
        rows.shuffle(&mut rng);
    }
    let quotas = apportion(&classes, n_test, labels.len());
    let mut split = Holdout {
        train: Vec::with_capacity(labels.len() - n_test),
        test: Vec::with_capacity(n_test),
    };
    for (rows, quota) in classes.values().zip(quotas) {
        split.test.extend_from_slice(&rows[..quota]);
        split.train.extend_from_slice(&rows[quota..]);
    }
    Ok(sorted(split))
}

/// Splits shuffled `0..n` into `k` folds of near-equal size; fold `i` tests on part `i`.
pub fn k_fold(n: usize, k: usize, seed: u64) -> Result<Vec<Holdout>> {
    check_k(n, k)?;
    let mut rows: Vec<usize> = (0..n).collect();
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut parts = vec![Vec::new(); k];
    for (i, row) in rows.into_iter().enumerate() {
        parts[i % k].push(row);
    }
    Ok(folds(parts))
}

/// Like [`k_fold`], but every fold keeps the class shares: each class is dealt round-robin
/// over the folds, continuing where the previous class stopped.
pub fn stratified_k_fold(labels: &[u32], k: usize, seed: u64) -> Result<Vec<Holdout>> {
    check_k(labels.len(), k)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut parts = vec![Vec::new(); k];
    let mut next = 0;
    for mut rows in by_class(labels).into_values() {
        rows.shuffle(&mut rng);
        for row in rows {
            parts[next % k].push(row);
            next += 1;
        }
    }
    Ok(folds(parts))
}

fn test_size(n: usize, fraction: f64) -> Result<usize> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(DataError::config(
            "test_fraction",
            format!("{fraction} is not strictly between 0 and 1"),
        ));
    }
    if n < 2 {
        return Err(DataError::config(
            "rows",
            format!("a split needs at least 2 rows, got {n}"),
        ));
    }
    Ok(((n as f64 * fraction).round() as usize).clamp(1, n - 1))
}

fn check_k(n: usize, k: usize) -> Result<()> {
    if k < 2 || k > n {
        return Err(DataError::config(
            "k",
            format!("{k} folds for {n} rows; use 2 ≤ k ≤ rows"),
        ));
    }
    Ok(())
}

fn by_class(labels: &[u32]) -> BTreeMap<u32, Vec<usize>> {
    let mut classes: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (row, &label) in labels.iter().enumerate() {
        classes.entry(label).or_default().push(row);
    }
    classes
}

/// Test rows per class summing to `n_test`: floors of the exact shares, then the largest
/// remainders (ties to the larger class, then the lower label).
fn apportion(classes: &BTreeMap<u32, Vec<usize>>, n_test: usize, n: usize) -> Vec<usize> {
    let exact: Vec<f64> = classes
        .values()
        .map(|rows| rows.len() as f64 * n_test as f64 / n as f64)
        .collect();
    let mut quotas: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..exact.len()).collect();
    let sizes: Vec<usize> = classes.values().map(Vec::len).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra)
            .then(sizes[b].cmp(&sizes[a]))
            .then(a.cmp(&b))
    });
    let mut left = n_test - quotas.iter().sum::<usize>();
    for i in order {
        if left == 0 {
            break;
        }
        if quotas[i] < sizes[i] {
            quotas[i] += 1;
            left -= 1;
        }
    }
    quotas
}

fn folds(parts: Vec<Vec<usize>>) -> Vec<Holdout> {
    (0..parts.len())
        .map(|i| {
            let train = parts
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, p)| p.iter().copied())
                .collect();
            sorted(Holdout {
                train,
                test: parts[i].clone(),
            })
        })
        .collect()
}

fn sorted(mut split: Holdout) -> Holdout {
    split.train.sort_unstable();
    split.test.sort_unstable();
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_partition(split: &Holdout, n: usize) {
        let mut all: Vec<usize> = split.train.iter().chain(&split.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>(), "rows lost or duplicated");
    }

    #[test]
    fn holdout_partitions_and_is_reproducible() {
        let a = holdout(103, 0.2, 7).unwrap();
        assert_partition(&a, 103);
        assert_eq!(a.test.len(), 21);
        assert_eq!(a, holdout(103, 0.2, 7).unwrap());
        assert_ne!(a, holdout(103, 0.2, 8).unwrap());
    }

    #[test]
    fn stratified_holdout_keeps_class_shares() {
        let labels: Vec<u32> = (0..150).map(|i| i / 50).collect();
        let split = stratified_holdout(&labels, 0.2, 0).unwrap();
        assert_partition(&split, 150);
        for class in 0..3 {
            let n = split.test.iter().filter(|&&r| labels[r] == class).count();
            assert_eq!(n, 10, "class {class}");
        }
        // Uneven classes: the total is still exact.
        let labels: Vec<u32> = (0..101).map(|i| u32::from(i % 7 == 0)).collect();
        let split = stratified_holdout(&labels, 0.3, 1).unwrap();
        assert_partition(&split, 101);
        assert_eq!(split.test.len(), 30);
    }

    #[test]
    fn folds_partition_and_test_parts_are_disjoint() {
        let labels: Vec<u32> = (0..97).map(|i| (i % 3) as u32).collect();
        for folds in [
            k_fold(97, 5, 3).unwrap(),
            stratified_k_fold(&labels, 5, 3).unwrap(),
        ] {
            assert_eq!(folds.len(), 5);
            let mut tested: Vec<usize> = Vec::new();
            for fold in &folds {
                assert_partition(fold, 97);
                assert!(fold.test.len() == 19 || fold.test.len() == 20);
                tested.extend(&fold.test);
            }
            tested.sort_unstable();
            assert_eq!(
                tested,
                (0..97).collect::<Vec<_>>(),
                "each row tested exactly once"
            );
        }
        let folds = stratified_k_fold(&labels, 5, 3).unwrap();
        for fold in &folds {
            for class in 0..3 {
                let n = fold.test.iter().filter(|&&r| labels[r] == class).count();
                assert!((6..=7).contains(&n), "class {class} has {n} rows in a fold");
            }
        }
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(holdout(10, 0.0, 0).is_err());
        assert!(holdout(10, 1.0, 0).is_err());
        assert!(holdout(1, 0.5, 0).is_err());
        assert!(k_fold(3, 4, 0).is_err());
        assert!(k_fold(3, 1, 0).is_err());
    }
}
