//! Aggregation per field, domain, difficulty and overall, on a 0-100 scale, absolute (mean over
//! supported instances with a value) and relative (tau x absolute).

use super::compose::{InstanceScores, Scored};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Report scale: scores in [0, 1] are shown x100.
pub const REPORT_SCALE: f64 = 100.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Sts,
    Les,
    Sc,
    Gq,
    Sqcs,
    Hc,
    Sh,
    Ics,
}

impl Metric {
    pub const ALL: [Metric; 8] =
        [Metric::Sts, Metric::Les, Metric::Sc, Metric::Gq, Metric::Sqcs, Metric::Hc, Metric::Sh, Metric::Ics];

    pub fn label(self) -> &'static str {
        match self {
            Metric::Sts => "StS",
            Metric::Les => "LeS",
            Metric::Sc => "SC",
            Metric::Gq => "GQ",
            Metric::Sqcs => "SQCS",
            Metric::Hc => "HC",
            Metric::Sh => "SH",
            Metric::Ics => "ICS",
        }
    }

    pub fn of(self, s: &InstanceScores) -> &Scored {
        match self {
            Metric::Sts => &s.sts,
            Metric::Les => &s.les,
            Metric::Sc => &s.sc,
            Metric::Gq => &s.gq,
            Metric::Sqcs => &s.sqcs,
            Metric::Hc => &s.hc,
            Metric::Sh => &s.sh,
            Metric::Ics => &s.ics,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    /// Mean over supported instances that have a value, x100; None when none has.
    pub abs: Option<f64>,
    /// tau x abs.
    pub rel: Option<f64>,
    /// Supported instances with a value.
    pub scored: usize,
    /// Supported instances without one.
    pub missing: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    pub group: String,
    pub instances: usize,
    pub supported: usize,
    /// Supporting rate x100.
    pub tau: Option<f64>,
    pub metrics: BTreeMap<Metric, MetricSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub overall: GroupSummary,
    pub by_field: Vec<GroupSummary>,
    pub by_domain: Vec<GroupSummary>,
    pub by_difficulty: Vec<GroupSummary>,
}

pub fn difficulty_label(d: Option<u8>) -> &'static str {
    match d {
        Some(1) => "easy",
        Some(2) => "medium",
        Some(3) => "hard",
        _ => "unknown",
    }
}

pub fn summarise_group(group: impl Into<String>, members: &[&InstanceScores]) -> GroupSummary {
    let instances = members.len();
    let supported: Vec<_> = members.iter().filter(|s| s.supported).collect();
    let tau = (instances > 0).then(|| supported.len() as f64 / instances as f64);
    let metrics = Metric::ALL
        .iter()
        .map(|m| {
            let values: Vec<f64> = supported.iter().filter_map(|s| m.of(s).value).collect();
            let abs = (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
            let summary = MetricSummary {
                abs: abs.map(|a| a * REPORT_SCALE),
                rel: abs.zip(tau).map(|(a, t)| a * t * REPORT_SCALE),
                scored: values.len(),
                missing: supported.len() - values.len(),
            };
            (*m, summary)
        })
        .collect();
    GroupSummary { group: group.into(), instances, supported: supported.len(), tau: tau.map(|t| t * REPORT_SCALE), metrics }
}

fn grouped<K: Ord>(scores: &[InstanceScores], key: impl Fn(&InstanceScores) -> K) -> BTreeMap<K, Vec<&InstanceScores>> {
    let mut groups: BTreeMap<K, Vec<&InstanceScores>> = BTreeMap::new();
    for s in scores {
        groups.entry(key(s)).or_default().push(s);
    }
    groups
}

pub fn summarise(scores: &[InstanceScores]) -> Summary {
    let all: Vec<&InstanceScores> = scores.iter().collect();
    let by_field = grouped(scores, |s| s.field)
        .into_iter()
        .map(|(f, members)| summarise_group(f.label(), &members))
        .collect();
    let by_domain = grouped(scores, |s| (s.field, s.subdomain.clone()))
        .into_iter()
        .map(|((f, sub), members)| summarise_group(format!("{} / {}", f.label(), if sub.is_empty() { "(none)" } else { &sub }), &members))
        .collect();
    let by_difficulty = grouped(scores, |s| s.difficulty.unwrap_or(u8::MAX))
        .into_iter()
        .map(|(d, members)| summarise_group(difficulty_label((d != u8::MAX).then_some(d)), &members))
        .collect();
    Summary { overall: summarise_group("Overall", &all), by_field, by_domain, by_difficulty }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Field;

    fn inst(field: Field, supported: bool, sts: Option<f64>) -> InstanceScores {
        let sc = |v: Option<f64>| Scored { value: v, reason: None };
        InstanceScores {
            id: "x".into(),
            field,
            domain: String::new(),
            subdomain: "d".into(),
            difficulty: Some(2),
            supported,
            sts: sc(sts),
            les: sc(None),
            sc: sc(None),
            gq: sc(None),
            sqcs: sc(None),
            hc: sc(None),
            sh: sc(None),
            ics: sc(None),
            items: vec![],
            gq_failed: 0,
            evidence: Default::default(),
        }
    }

    #[test]
    fn abs_over_supported_rel_times_tau() {
        let scores = vec![
            inst(Field::NaturalScience, true, Some(1.0)),
            inst(Field::NaturalScience, true, Some(0.5)),
            inst(Field::NaturalScience, false, Some(0.0)),
            inst(Field::NaturalScience, true, None),
        ];
        let s = summarise(&scores);
        let sts = &s.overall.metrics[&Metric::Sts];
        assert_eq!(sts.abs, Some(75.0));
        assert_eq!(s.overall.tau, Some(75.0));
        assert!((sts.rel.unwrap() - 56.25).abs() < 1e-9);
        assert_eq!((sts.scored, sts.missing), (2, 1));
        assert_eq!(s.overall.metrics[&Metric::Sc].abs, None);
        assert_eq!(s.by_field.len(), 1);
        assert_eq!(s.by_difficulty[0].group, "medium");
    }
}
