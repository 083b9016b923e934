//! Progress for long stages: a bar on a terminal, plain lines when piped (a line every
//! [`PLAIN_EVERY`] or at each tenth of the work, whichever comes later), nothing when off.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

const PLAIN_EVERY: Duration = Duration::from_secs(5);
const BAR_TEMPLATE: &str = "{prefix:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})";
const BYTES_TEMPLATE: &str =
    "{prefix:>10} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}";
const MIB: f64 = (1u64 << 20) as f64;

/// What a [`Progress`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Items,
    Bytes,
}

impl Unit {
    fn show(self, n: u64) -> String {
        match self {
            Unit::Items => n.to_string(),
            Unit::Bytes => format!("{:.0} MiB", n as f64 / MIB),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, plain lines otherwise.
    Auto,
    Bar,
    Plain,
    Off,
}

pub struct Progress {
    kind: Kind,
}

enum Kind {
    Bar(ProgressBar),
    Plain { label: String, unit: Unit, total: u64, done: u64, last: Instant, next_fraction: u64 },
    Off,
}

impl Progress {
    pub fn new(mode: ProgressMode, label: &str, total: u64) -> Progress {
        Progress::with_unit(mode, label, total, Unit::Items)
    }

    /// Progress over `total` bytes (a download, a file being assembled).
    pub fn bytes(mode: ProgressMode, label: &str, total: u64) -> Progress {
        Progress::with_unit(mode, label, total, Unit::Bytes)
    }

    fn with_unit(mode: ProgressMode, label: &str, total: u64, unit: Unit) -> Progress {
        let bar = match mode {
            ProgressMode::Auto => std::io::stderr().is_terminal(),
            ProgressMode::Bar => true,
            ProgressMode::Plain | ProgressMode::Off => false,
        };
        let kind = if mode == ProgressMode::Off {
            Kind::Off
        } else if bar {
            let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template = if unit == Unit::Bytes { BYTES_TEMPLATE } else { BAR_TEMPLATE };
            pb.set_style(ProgressStyle::with_template(template).expect("valid progress template"));
            pb.set_prefix(label.to_string());
            Kind::Bar(pb)
        } else {
            Kind::Plain { label: label.to_string(), unit, total, done: 0, last: Instant::now(), next_fraction: 1 }
        };
        Progress { kind }
    }

    pub fn inc(&mut self) {
        self.inc_by(1)
    }

    pub fn inc_by(&mut self, n: u64) {
        match &mut self.kind {
            Kind::Bar(pb) => pb.inc(n),
            Kind::Plain { label, unit, total, done, last, next_fraction } => {
                *done += n;
                let tenth_reached = *total > 0 && *done * 10 >= *next_fraction * *total;
                if tenth_reached && last.elapsed() >= PLAIN_EVERY {
                    eprintln!("{label}: {}/{}", unit.show(*done), unit.show(*total));
                    *last = Instant::now();
                }
                while *total > 0 && *done * 10 >= *next_fraction * *total {
                    *next_fraction += 1;
                }
            }
            Kind::Off => {}
        }
    }

    /// A short note beside the bar (which part is being fetched); plain mode does not print it.
    pub fn set_message(&self, msg: impl Into<std::borrow::Cow<'static, str>>) {
        if let Kind::Bar(pb) = &self.kind {
            pb.set_message(msg);
        }
    }

    /// Runs `f` (which prints) with the bar hidden, so the two do not garble each other.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.kind {
            Kind::Bar(pb) => pb.suspend(f),
            _ => f(),
        }
    }

    pub fn finish(self) {
        match self.kind {
            Kind::Bar(pb) => pb.finish_and_clear(),
            Kind::Plain { label, unit, total, done, .. } => {
                eprintln!("{label}: {}/{} done", unit.show(done), unit.show(total))
            }
            Kind::Off => {}
        }
    }
}
