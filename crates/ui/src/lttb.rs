//! Largest-Triangle-Three-Buckets downsampling (Steinarsson, 2013): keeps the
//! shape of a long series (its peaks and dips) in a fixed number of points,
//! so a 100,000-step metric is drawn from at most [`crate::MAX_CHART_POINTS`].

/// At most `threshold` points of `points` (sorted by x) that keep its visual
/// shape: the first and last points always, and in each bucket between them
/// the point forming the largest triangle with the previous choice and the
/// next bucket's mean. Returns the input when it is already small enough.
pub fn lttb(points: &[(f64, f64)], threshold: usize) -> Vec<(f64, f64)> {
    let n = points.len();
    if threshold >= n || n < 3 {
        return points.to_vec();
    }
    if threshold < 3 {
        return vec![points[0], points[n - 1]].into_iter().take(threshold.max(1)).collect();
    }
    let mut out = Vec::with_capacity(threshold);
    out.push(points[0]);
    let every = (n - 2) as f64 / (threshold - 2) as f64;
    let mut a = 0usize;
    for i in 0..threshold - 2 {
        // The next bucket's mean is the third corner of the triangle.
        let next_start = ((i + 1) as f64 * every) as usize + 1;
        let next_end = (((i + 2) as f64 * every) as usize + 1).min(n);
        let next = &points[next_start.min(n - 1)..next_end.max(next_start.min(n - 1) + 1)];
        let (sx, sy) = next.iter().fold((0.0, 0.0), |(sx, sy), &(x, y)| (sx + x, sy + y));
        let (cx, cy) = (sx / next.len() as f64, sy / next.len() as f64);
        // Pick the point of this bucket with the largest triangle.
        let start = (i as f64 * every) as usize + 1;
        let end = (((i + 1) as f64 * every) as usize + 1).min(n - 1);
        let (ax, ay) = points[a];
        let mut best = start;
        let mut best_area = -1.0;
        for (j, &(x, y)) in points.iter().enumerate().take(end).skip(start) {
            let area = ((ax - cx) * (y - ay) - (ax - x) * (cy - ay)).abs();
            if area > best_area {
                best_area = area;
                best = j;
            }
        }
        out.push(points[best]);
        a = best;
    }
    out.push(points[n - 1]);
    out
}

#[cfg(test)]
mod tests {
    use super::lttb;

    #[test]
    fn keeps_ends_and_peaks_and_the_size_limit() {
        let mut points: Vec<(f64, f64)> =
            (0..100_000).map(|i| (i as f64, (i % 7) as f64)).collect();
        points[55_555].1 = 1000.0;
        let out = lttb(&points, 2000);
        assert_eq!(out.len(), 2000);
        assert_eq!(out[0], points[0]);
        assert_eq!(out[1999], points[99_999]);
        assert!(out.contains(&(55_555.0, 1000.0)), "the spike survives");
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "x stays sorted");
    }

    #[test]
    fn small_inputs_come_back_whole() {
        let points = vec![(0.0, 1.0), (1.0, 2.0), (2.0, 0.5)];
        assert_eq!(lttb(&points, 2000), points);
        assert_eq!(lttb(&points, 2).len(), 2);
        assert!(lttb(&[], 10).is_empty());
    }
}
