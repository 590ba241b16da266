//! Grouping a conditional space's parameters: the ones that always occur together are
//! modelled jointly.

use std::collections::{BTreeMap, BTreeSet};

use super::observed::Observed;
use crate::distribution::Distribution;

/// The joint space: parameters of the observed trials with one distribution throughout,
/// split into groups that always occur together (or one intersection group).
pub(super) fn relative_groups(
    observed: &Observed<'_>,
    group: bool,
) -> Vec<Vec<(String, Distribution)>> {
    // A name is usable if every trial that has it has one distribution, not a single value.
    let mut dists: BTreeMap<&str, Option<&Distribution>> = BTreeMap::new();
    for k in &observed.keysets {
        for (&n, &(d, same)) in k.names.iter().zip(&k.dists) {
            let entry = dists.entry(n).or_insert(Some(d));
            if !same || entry.is_some_and(|e| e != d) {
                *entry = None;
            }
        }
    }
    let usable = |n: &str| dists.get(n).copied().flatten().filter(|d| !d.is_single());
    let keysets: Vec<BTreeSet<&str>> = observed
        .keysets
        .iter()
        .map(|k| {
            k.names
                .iter()
                .copied()
                .filter(|n| usable(n).is_some())
                .collect()
        })
        .collect();
    let sets: Vec<BTreeSet<&str>> = if group {
        let mut groups: Vec<BTreeSet<&str>> = Vec::new();
        for keys in &keysets {
            let mut next = Vec::new();
            let mut covered = BTreeSet::new();
            for g in groups {
                let inside: BTreeSet<&str> = g.intersection(keys).copied().collect();
                let outside: BTreeSet<&str> = g.difference(keys).copied().collect();
                covered.extend(inside.iter().copied());
                if !inside.is_empty() {
                    next.push(inside);
                }
                if !outside.is_empty() {
                    next.push(outside);
                }
            }
            let fresh: BTreeSet<&str> = keys.difference(&covered).copied().collect();
            if !fresh.is_empty() {
                next.push(fresh);
            }
            groups = next;
        }
        groups
    } else {
        let mut common: Option<BTreeSet<&str>> = None;
        for keys in keysets {
            common = Some(match common {
                None => keys,
                Some(c) => c.intersection(&keys).copied().collect(),
            });
        }
        common.into_iter().filter(|c| !c.is_empty()).collect()
    };
    sets.into_iter()
        .map(|s| {
            s.into_iter()
                .filter_map(|n| usable(n).map(|d| (n.to_owned(), d.clone())))
                .collect()
        })
        .collect()
}
