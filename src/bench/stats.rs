//! Summary statistics of a set of timed runs (seconds).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub median: f64,
    pub mean: f64,
    /// Sample standard deviation; 0 for a single run.
    pub stddev: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// None for no runs.
    pub fn of(runs: &[f64]) -> Option<Summary> {
        if runs.is_empty() {
            return None;
        }
        let mut sorted = runs.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 { sorted[n / 2] } else { 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]) };
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let stddev = if n > 1 {
            (sorted.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Summary { median, mean, stddev, min: sorted[0], max: sorted[n - 1] })
    }
}

/// A duration for people: "812 µs", "3.45 ms", "1.26 s".
pub fn human_time(seconds: f64) -> String {
    if seconds < 1e-3 {
        format!("{:.0} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{seconds:.2} s")
    }
}

/// A rate for people, three significant digits: "290 images/s", "1.52k audio-s/s".
pub fn human_rate(per_second: f64, unit: &str) -> String {
    let (value, prefix) = if per_second >= 1e6 {
        (per_second / 1e6, "M")
    } else if per_second >= 1e4 {
        (per_second / 1e3, "k")
    } else {
        (per_second, "")
    };
    let digits = if value >= 100.0 { 0 } else if value >= 10.0 { 1 } else { 2 };
    format!("{value:.digits$}{prefix} {unit}/s")
}

/// An amount of work: whole counts without decimals ("3 images"), the rest to 0.01 ("65.67 audio-s").
pub fn human_amount(amount: f64, unit: &str) -> String {
    if amount.fract() == 0.0 {
        format!("{amount:.0} {unit}")
    } else {
        format!("{amount:.2} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_odd_and_even_runs() {
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.mean), (2.0, 1.0, 3.0, 2.0));
        assert!((s.stddev - 1.0).abs() < 1e-12);
        let s = Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert_eq!(Summary::of(&[5.0]).unwrap().stddev, 0.0);
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn human_units() {
        assert_eq!(human_time(0.000_812), "812 µs");
        assert_eq!(human_time(0.003_45), "3.45 ms");
        assert_eq!(human_time(1.259), "1.26 s");
        assert_eq!(human_rate(290.4, "images"), "290 images/s");
        assert_eq!(human_rate(15_200.0, "audio-s"), "15.2k audio-s/s");
        assert_eq!(human_rate(3.456, "meshes"), "3.46 meshes/s");
        assert_eq!(human_amount(3.0, "images"), "3 images");
        assert_eq!(human_amount(65.674, "audio-s"), "65.67 audio-s");
    }
}
