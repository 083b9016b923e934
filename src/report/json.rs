use super::{Exporter, Report, REPORT_JSON};

pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn file_name(&self) -> &'static str {
        REPORT_JSON
    }

    fn render(&self, report: &Report) -> String {
        let mut s = serde_json::to_string_pretty(report).expect("reports serialise to JSON");
        s.push('\n');
        s
    }
}
