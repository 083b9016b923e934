//! `summary.md`: tables shaped like the paper's Tables 3-5, per field and per difficulty, on a
//! 0-100 scale, plus what is missing and why.

use super::{Exporter, Report, SUMMARY_MD};
use crate::metrics::aggregate::{GroupSummary, Metric};
use std::fmt::Write;

pub struct MarkdownExporter;

/// Problems listed one by one before the rest are only counted.
const LISTED_PROBLEMS: usize = 20;

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "–".into())
}

enum Col {
    Abs(Metric),
    Rel(Metric),
    Tau,
}

fn table(out: &mut String, title: &str, rows: &[&GroupSummary], cols: &[(&str, Col)]) {
    let _ = writeln!(out, "### {title}\n");
    let header: Vec<&str> = cols.iter().map(|(h, _)| *h).collect();
    let _ = writeln!(out, "| Group | N | {} |", header.join(" | "));
    let _ = writeln!(out, "|---|---:|{}|", vec!["---:"; cols.len()].join("|"));
    for g in rows {
        let cells: Vec<String> = cols
            .iter()
            .map(|(_, c)| match c {
                Col::Abs(m) => num(g.metrics[m].abs),
                Col::Rel(m) => num(g.metrics[m].rel),
                Col::Tau => num(g.tau),
            })
            .collect();
        let _ = writeln!(out, "| {} | {} | {} |", g.group, g.instances, cells.join(" | "));
    }
    out.push('\n');
}

fn three_tables(out: &mut String, by: &str, rows: &[&GroupSummary]) {
    use Col::*;
    use Metric::*;
    table(out, &format!("Structure by {by} (Table 3)"), rows, &[
        ("StS abs", Abs(Sts)), ("StS rel", Rel(Sts)), ("LeS abs", Abs(Les)), ("LeS rel", Rel(Les)),
    ]);
    table(out, &format!("Semantic quality by {by} (Table 4)"), rows, &[
        ("SC", Abs(Sc)), ("GQ", Abs(Gq)), ("SQCS abs", Abs(Sqcs)), ("τ", Tau), ("SQCS rel", Rel(Sqcs)),
    ]);
    table(out, &format!("Interleaved coherence by {by} (Table 5)"), rows, &[
        ("HC abs", Abs(Hc)), ("HC rel", Rel(Hc)), ("SH abs", Abs(Sh)), ("SH rel", Rel(Sh)), ("ICS abs", Abs(Ics)), ("ICS rel", Rel(Ics)),
    ]);
}

impl Exporter for MarkdownExporter {
    fn file_name(&self) -> &'static str {
        SUMMARY_MD
    }

    fn render(&self, r: &Report) -> String {
        let mut out = String::new();
        let s = &r.summary;
        let _ = writeln!(out, "# omniscore summary\n");
        let _ = writeln!(
            out,
            "Ground truth `{}`, responses `{}`. {} instances, {} supported (τ = {}). \
             Scores 0-100; abs = mean over supported instances with a score, rel = τ × abs. \
             η(SQCS) = {}, η(ICS) = {}.\n",
            r.inputs.ground_truth.display(),
            r.inputs.responses.display(),
            s.overall.instances,
            s.overall.supported,
            num(s.overall.tau),
            r.settings.eta_sqcs,
            r.settings.eta_ics,
        );
        let mut by_field: Vec<&GroupSummary> = s.by_field.iter().collect();
        by_field.push(&s.overall);
        three_tables(&mut out, "field", &by_field);
        let mut by_difficulty: Vec<&GroupSummary> = s.by_difficulty.iter().collect();
        by_difficulty.push(&s.overall);
        three_tables(&mut out, "difficulty", &by_difficulty);

        let _ = writeln!(out, "## Coverage\n");
        let _ = writeln!(out, "| Metric | Scored | Missing |\n|---|---:|---:|");
        for m in Metric::ALL {
            let ms = &s.overall.metrics[&m];
            let _ = writeln!(out, "| {} | {} | {} |", m.label(), ms.scored, ms.missing);
        }
        let _ = writeln!(out, "\nPer-instance reasons for every missing score are in `report.json`.\n");

        if !r.problems.is_empty() {
            let _ = writeln!(out, "## Problems ({})\n", r.problems.len());
            for (kind, n) in &r.problem_counts {
                let _ = writeln!(out, "- {}: {n}", serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default());
            }
            out.push('\n');
            for p in r.problems.iter().take(LISTED_PROBLEMS) {
                let _ = writeln!(out, "- {p}");
            }
            if r.problems.len() > LISTED_PROBLEMS {
                let _ = writeln!(out, "- … {} more in `report.json`", r.problems.len() - LISTED_PROBLEMS);
            }
        }
        out
    }
}
