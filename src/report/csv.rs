//! `scores.csv`: one row per instance, scores in [0, 1], empty where unknown. Other tools read
//! it, so the leading columns are fixed.

use super::{cell, Exporter, Report, SCORES_CSV};
use crate::metrics::aggregate::Metric;

pub const COLUMNS: &[&str] =
    &["id", "field", "domain", "subdomain", "difficulty", "supported", "sts", "les", "sc", "gq", "sqcs", "hc", "sh", "ics", "gq_failed_items"];

pub struct CsvExporter;

/// RFC 4180 quoting: only when needed.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

impl Exporter for CsvExporter {
    fn file_name(&self) -> &'static str {
        SCORES_CSV
    }

    fn render(&self, report: &Report) -> String {
        let mut out = COLUMNS.join(",");
        out.push('\n');
        for s in &report.instances {
            let mut row = vec![
                quote(&s.id),
                s.field.key().to_string(),
                quote(&s.domain),
                quote(&s.subdomain),
                s.difficulty.map(|d| d.to_string()).unwrap_or_default(),
                s.supported.to_string(),
            ];
            row.extend(Metric::ALL.iter().map(|m| cell(m.of(s).value)));
            row.push(s.gq_failed.to_string());
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
