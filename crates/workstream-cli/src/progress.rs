//! Progress of the CLI's long operations (indicatif), and the lines printed beside it.
//!
//! Bars draw on stderr and only when stderr is a terminal; what a command reports (each
//! demo step and its resulting state, what an import made) is printed with [`Output`],
//! which suspends the bar around each line so the two never interleave, and which still
//! prints when no bar is drawn (a pipe, CI, the tests). With `--json`, report lines go
//! to stderr so stdout holds only the JSON document.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Where a command's report lines go, with the bar they print around.
#[derive(Clone)]
pub struct Output {
    bar: ProgressBar,
    to_stderr: bool,
    silent: bool,
}

impl Output {
    /// Lines on stdout (or on stderr when `to_stderr`), no bar yet.
    pub fn new(to_stderr: bool) -> Output {
        Output {
            bar: ProgressBar::hidden(),
            to_stderr,
            silent: false,
        }
    }

    /// Prints nothing and draws no bar (a command run inside another one's step).
    pub fn quiet() -> Output {
        Output {
            bar: ProgressBar::hidden(),
            to_stderr: true,
            silent: true,
        }
    }

    /// Prints `line` above the bar.
    pub fn line(&self, line: impl AsRef<str>) {
        if self.silent {
            return;
        }
        let line = line.as_ref();
        self.bar.suspend(|| {
            if self.to_stderr {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        });
    }

    /// The bar lines are printed around.
    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }

    /// Replaces the bar (the previous one is finished and cleared).
    pub fn set_bar(&mut self, bar: ProgressBar) {
        self.bar.finish_and_clear();
        self.bar = if self.silent {
            ProgressBar::hidden()
        } else {
            bar
        };
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A bar of `total` named steps: `[3/12] ████░░░ message`.
pub fn steps(total: u64, prefix: &str) -> ProgressBar {
    let bar = ProgressBar::new(total).with_prefix(prefix.to_owned());
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:.bold} [{pos}/{len}] {wide_bar:.cyan/blue} {spinner} {msg} ({elapsed})",
        )
        .expect("a valid template")
        .progress_chars("█▓░"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A bar of `total` bytes: `upload ███░░ 1.2 MiB/4.0 MiB 3.1 MiB/s`.
pub fn bytes(total: u64, prefix: &str) -> ProgressBar {
    let bar = ProgressBar::new(total).with_prefix(prefix.to_owned());
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:.bold} {wide_bar:.cyan/blue} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .expect("a valid template")
        .progress_chars("█▓░"),
    );
    bar
}

/// A spinner for one long step of unknown length (compiling a component).
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message.into());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
