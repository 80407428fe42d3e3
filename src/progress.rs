//! Progress bars for long work: bytes and rate on a terminal, nothing when stderr is not one.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A byte-progress bar (hidden when stderr is not a terminal or when disabled).
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar labelled `what`, drawn only on a terminal.
    pub fn bytes(what: &str, enabled: bool) -> Self {
        let bar = if enabled && std::io::stderr().is_terminal() {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:32}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b.set_message(what.to_string());
            b
        } else {
            ProgressBar::hidden()
        };
        Progress { bar }
    }

    /// A bar that never draws.
    pub fn hidden() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
        }
    }

    /// Set the total.
    pub fn set_length(&self, n: u64) {
        self.bar.set_length(n);
    }

    /// A handle for worker threads.
    pub fn counter(&self) -> ProgressBar {
        self.bar.clone()
    }

    /// Clear the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
