//! Progress on stderr: indicatif spinners and bars on a terminal, one plain
//! line per finished step otherwise (logs, CI, tests).

use std::{fmt::Display, io::IsTerminal, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};

/// Hands out one indicator per step.
pub(crate) struct Progress {
    terminal: bool,
    steps: usize,
    current: usize,
}

impl Progress {
    /// Progress for `steps` numbered steps.
    pub(crate) fn new(steps: usize) -> Progress {
        Progress { terminal: std::io::stderr().is_terminal(), steps, current: 0 }
    }

    /// A spinner for the next step.
    pub(crate) fn step(&mut self, message: &str) -> Step {
        let bar = self.start(ProgressBar::new_spinner(), "{prefix} {spinner} {msg}");
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        Step { bar, terminal: self.terminal }
    }

    /// A bar of `len` units for the next step.
    pub(crate) fn bar(&mut self, message: &str, len: u64) -> Step {
        let bar = self.start(ProgressBar::new(len), "{prefix} {msg} [{bar:30}] {pos}/{len}");
        bar.set_message(message.to_string());
        Step { bar, terminal: self.terminal }
    }

    fn start(&mut self, bar: ProgressBar, template: &str) -> ProgressBar {
        self.current += 1;
        if !self.terminal {
            return ProgressBar::hidden();
        }
        // The templates are constants; should one not parse, the default style is fine.
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(format!("[{}/{}]", self.current, self.steps));
        bar
    }
}

/// One step's indicator.
pub(crate) struct Step {
    bar: ProgressBar,
    terminal: bool,
}

impl Step {
    /// The bar, for whoever reports positions (a run recorder).
    pub(crate) fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }

    /// Ends the step with a one-line result.
    pub(crate) fn done(self, message: impl Display) {
        if self.terminal {
            if let Ok(style) = ProgressStyle::with_template("{prefix} {msg}") {
                self.bar.set_style(style);
            }
            self.bar.finish_with_message(format!("✓ {message}"));
        } else {
            eprintln!("✓ {message}");
        }
    }
}
