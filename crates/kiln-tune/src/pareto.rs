//! Pareto dominance for multi-objective studies: non-dominated sorting, crowding distance and
//! hypervolume. Points here are losses (every objective minimized); [`losses`] orients a
//! trial's values by its study's directions.

use crate::direction::Direction;

/// `values` oriented so that lower is better in every objective.
pub(crate) fn losses(values: &[f64], directions: &[Direction]) -> Vec<f64> {
    values
        .iter()
        .zip(directions)
        .map(|(&v, d)| d.loss(v))
        .collect()
}

/// Whether loss vector `a` Pareto-dominates `b`: no worse in every objective, better in one.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    let mut better = false;
    for (x, y) in a.iter().zip(b) {
        if x > y {
            return false;
        }
        better |= x < y;
    }
    better
}

/// The non-dominated fronts of `points` (loss vectors): indices of the first (Pareto) front,
/// then of the front that is non-dominated once the first is removed, and so on (Deb et al.'s
/// fast non-dominated sort, O(m·n²)). Each front lists its indices in increasing order.
pub fn nondominated_fronts(points: &[Vec<f64>]) -> Vec<Vec<usize>> {
    let n = points.len();
    let mut dominated_by = vec![0usize; n];
    let mut dominates_list: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for j in i + 1..n {
            if dominates(&points[i], &points[j]) {
                dominates_list[i].push(j);
                dominated_by[j] += 1;
            } else if dominates(&points[j], &points[i]) {
                dominates_list[j].push(i);
                dominated_by[i] += 1;
            }
        }
    }
    let mut fronts = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|&i| dominated_by[i] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &i in &current {
            for &j in &dominates_list[i] {
                dominated_by[j] -= 1;
                if dominated_by[j] == 0 {
                    next.push(j);
                }
            }
        }
        next.sort_unstable();
        fronts.push(std::mem::replace(&mut current, next));
    }
    fronts
}

/// The crowding distance of each point of one front (NSGA-II's diversity measure): per
/// objective, the normalized gap between a point's neighbours, summed; the extremes of each
/// objective get infinity.
pub(crate) fn crowding_distance(front: &[&[f64]]) -> Vec<f64> {
    let n = front.len();
    let mut distance = vec![0.0; n];
    if n <= 2 {
        return vec![f64::INFINITY; n];
    }
    let m = front[0].len();
    let mut order: Vec<usize> = (0..n).collect();
    #[expect(
        clippy::needless_range_loop,
        reason = "k is the objective: it indexes each point, front[i][k], not the front"
    )]
    for k in 0..m {
        order.sort_by(|&a, &b| front[a][k].total_cmp(&front[b][k]).then(a.cmp(&b)));
        let (low, high) = (front[order[0]][k], front[order[n - 1]][k]);
        distance[order[0]] = f64::INFINITY;
        distance[order[n - 1]] = f64::INFINITY;
        let span = high - low;
        if span <= 0.0 || !span.is_finite() {
            continue;
        }
        for w in 1..n - 1 {
            distance[order[w]] += (front[order[w + 1]][k] - front[order[w - 1]][k]) / span;
        }
    }
    distance
}

/// The `k` best of `points` (loss vectors), as MOTPE ranks them (Ozaki et al., 2020, as in
/// Optuna): whole non-dominated fronts while they fit, then from the front that does not, a
/// greedy hypervolume subset (each pick adds the most hypervolume to those already picked),
/// with the reference point just beyond the front's worst values. Indices in increasing order.
pub(crate) fn best_subset(points: &[Vec<f64>], k: usize) -> Vec<usize> {
    let mut chosen = Vec::with_capacity(k);
    for front in nondominated_fronts(points) {
        let room = k.saturating_sub(chosen.len());
        if room == 0 {
            break;
        }
        if front.len() <= room {
            chosen.extend(front);
            continue;
        }
        let m = points[front[0]].len();
        let reference: Vec<f64> = (0..m)
            .map(|j| {
                let (lo, hi) = front
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |a, &i| {
                        (a.0.min(points[i][j]), a.1.max(points[i][j]))
                    });
                hi + ((hi - lo) * 0.1).max(hi.abs() * 1e-6).max(1e-12)
            })
            .collect();
        let mut picked: Vec<Vec<f64>> = Vec::with_capacity(room);
        let mut rest = front;
        for _ in 0..room {
            let base = hypervolume(&picked, &reference);
            let (at, _) = rest
                .iter()
                .enumerate()
                .map(|(at, &i)| {
                    picked.push(points[i].clone());
                    let gain = hypervolume(&picked, &reference) - base;
                    picked.pop();
                    (at, gain)
                })
                .fold(
                    (0, f64::NEG_INFINITY),
                    |best, c| if c.1 > best.1 { c } else { best },
                );
            let i = rest.remove(at);
            picked.push(points[i].clone());
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen
}

/// The hypervolume that `points` (loss vectors) dominate, bounded by `reference` (a point worse
/// than every point of interest in every objective): the standard quality measure of a Pareto
/// front approximation, larger is better. Points not strictly better than the reference in
/// every objective add nothing. Exact: a sweep in two objectives (O(n log n)), slicing by the
/// last objective in more.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let inside: Vec<&[f64]> = points
        .iter()
        .map(Vec::as_slice)
        .filter(|p| p.len() == reference.len() && p.iter().zip(reference).all(|(x, r)| x < r))
        .collect();
    volume(inside, reference)
}

fn volume(mut points: Vec<&[f64]>, reference: &[f64]) -> f64 {
    let m = reference.len();
    if points.is_empty() || m == 0 {
        return 0.0;
    }
    if m == 1 {
        let best = points.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min);
        return reference[0] - best;
    }
    if m == 2 {
        points.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
        let mut area = 0.0;
        let mut ceiling = reference[1];
        for p in points {
            if p[1] < ceiling {
                area += (reference[0] - p[0]) * (ceiling - p[1]);
                ceiling = p[1];
            }
        }
        return area;
    }
    // Slice along the last objective: between consecutive levels, the points at or below the
    // lower level dominate an (m-1)-dimensional region.
    points.sort_by(|a, b| a[m - 1].total_cmp(&b[m - 1]));
    let mut total = 0.0;
    for i in 0..points.len() {
        let top = points.get(i + 1).map_or(reference[m - 1], |p| p[m - 1]);
        let depth = top - points[i][m - 1];
        if depth > 0.0 {
            let slice: Vec<&[f64]> = points[..=i].iter().map(|p| &p[..m - 1]).collect();
            total += depth * volume(slice, &reference[..m - 1]);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominance_needs_one_strict_improvement() {
        assert!(dominates(&[1.0, 2.0], &[1.0, 3.0]));
        assert!(!dominates(&[1.0, 2.0], &[1.0, 2.0]));
        assert!(!dominates(&[0.0, 3.0], &[1.0, 2.0]));
    }

    #[test]
    fn fronts_peel_in_order() {
        let p = vec![
            vec![1.0, 4.0],
            vec![2.0, 2.0],
            vec![4.0, 1.0],
            vec![3.0, 3.0],
            vec![5.0, 5.0],
            vec![2.0, 2.0],
        ];
        assert_eq!(
            nondominated_fronts(&p),
            vec![vec![0, 1, 2, 5], vec![3], vec![4]]
        );
    }

    #[test]
    fn best_subset_takes_fronts_then_spread() {
        let p = vec![
            vec![0.0, 4.0],
            vec![1.0, 2.9],
            vec![1.1, 2.8],
            vec![3.0, 1.0],
            vec![4.0, 0.0],
            vec![5.0, 5.0],
        ];
        assert_eq!(best_subset(&p, 6), vec![0, 1, 2, 3, 4, 5]);
        // Three of the five on the front: the extremes (which hold the most volume alone)
        // and not both of the two near-twins.
        let three = best_subset(&p, 3);
        assert_eq!(three.len(), 3);
        assert!(!(three.contains(&1) && three.contains(&2)), "{three:?}");
    }

    #[test]
    fn crowding_gives_extremes_infinity() {
        let front: Vec<&[f64]> = vec![&[0.0, 4.0], &[1.0, 2.0], &[3.0, 1.0], &[4.0, 0.0]];
        let d = crowding_distance(&front);
        assert!(d[0].is_infinite() && d[3].is_infinite());
        // (3 - 0)/4 + (4 - 1)/4 and (4 - 1)/4 + (2 - 0)/4.
        assert!((d[1] - 1.5).abs() < 1e-12);
        assert!((d[2] - 1.25).abs() < 1e-12);
    }

    #[test]
    fn hypervolume_matches_hand_computed_areas() {
        // Staircase: (1,3), (2,2), (3,1) under reference (4,4): 3 + 2 + 1 = 6.
        let p = vec![
            vec![1.0, 3.0],
            vec![2.0, 2.0],
            vec![3.0, 1.0],
            vec![3.5, 3.5],
        ];
        assert!((hypervolume(&p, &[4.0, 4.0]) - 6.0).abs() < 1e-12);
        // Points outside the reference box add nothing.
        assert_eq!(hypervolume(&[vec![5.0, 0.0]], &[4.0, 4.0]), 0.0);
        // Three objectives: boxes [0,2]×[1,2]×[1,2] and [1,2]×[0,2]×[1,2] (2 each) overlap
        // in [1,2]³ (1).
        let q = vec![vec![0.0, 1.0, 1.0], vec![1.0, 0.0, 1.0]];
        assert!((hypervolume(&q, &[2.0, 2.0, 2.0]) - 3.0).abs() < 1e-12);
        // The 3-D slicing agrees with the 2-D sweep when the third objective is constant.
        let flat: Vec<Vec<f64>> = p.iter().map(|v| vec![v[0], v[1], 0.0]).collect();
        assert!((hypervolume(&flat, &[4.0, 4.0, 1.0]) - 6.0).abs() < 1e-12);
    }
}
