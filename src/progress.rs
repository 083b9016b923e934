//! Progress for long stages: a bar on a terminal, plain lines when piped (a line every
//! [`PLAIN_EVERY`] or at each tenth of the work, whichever comes later), nothing when off.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

const PLAIN_EVERY: Duration = Duration::from_secs(5);
const BAR_TEMPLATE: &str = "{prefix:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})";

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
    Plain { label: String, total: u64, done: u64, last: Instant, next_fraction: u64 },
    Off,
}

impl Progress {
    pub fn new(mode: ProgressMode, label: &str, total: u64) -> Progress {
        let bar = match mode {
            ProgressMode::Auto => std::io::stderr().is_terminal(),
            ProgressMode::Bar => true,
            ProgressMode::Plain | ProgressMode::Off => false,
        };
        let kind = if mode == ProgressMode::Off {
            Kind::Off
        } else if bar {
            let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            pb.set_style(ProgressStyle::with_template(BAR_TEMPLATE).expect("valid progress template"));
            pb.set_prefix(label.to_string());
            Kind::Bar(pb)
        } else {
            Kind::Plain { label: label.to_string(), total, done: 0, last: Instant::now(), next_fraction: 1 }
        };
        Progress { kind }
    }

    pub fn inc(&mut self) {
        match &mut self.kind {
            Kind::Bar(pb) => pb.inc(1),
            Kind::Plain { label, total, done, last, next_fraction } => {
                *done += 1;
                let tenth_reached = *total > 0 && *done * 10 >= *next_fraction * *total;
                if tenth_reached && last.elapsed() >= PLAIN_EVERY {
                    eprintln!("{label}: {done}/{total}");
                    *last = Instant::now();
                }
                while *total > 0 && *done * 10 >= *next_fraction * *total {
                    *next_fraction += 1;
                }
            }
            Kind::Off => {}
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
            Kind::Plain { label, total, done, .. } => eprintln!("{label}: {done}/{total} done"),
            Kind::Off => {}
        }
    }
}
