//! Stop sequences over a growing decoded text: emits only text that can no
//! longer turn into a stop sequence, and cuts the text where one appears.

/// What one step of [`StopMatcher::push`] decided.
pub struct StopStep {
    /// Text that became final with this step.
    pub emit: String,
    /// Whether a stop sequence appeared.
    pub stopped: bool,
}

/// Tracks the decoded text of a generation against its stop sequences.
pub struct StopMatcher {
    stops: Vec<String>,
    text: String,
    emitted: usize,
    stopped: bool,
}

impl StopMatcher {
    /// A matcher for `stops` (empty strings are ignored).
    pub fn new(stops: &[String]) -> Self {
        let stops = stops.iter().filter(|s| !s.is_empty()).cloned().collect();
        StopMatcher { stops, text: String::new(), emitted: 0, stopped: false }
    }

    /// Takes the whole decoded text so far (it only grows; a trailing U+FFFD
    /// marks an incomplete UTF-8 sequence and is held back).
    pub fn push(&mut self, decoded: &str) -> StopStep {
        if self.stopped {
            return StopStep { emit: String::new(), stopped: true };
        }
        let decoded = decoded.trim_end_matches(char::REPLACEMENT_CHARACTER);
        if decoded.len() < self.emitted || !decoded.is_char_boundary(self.emitted) {
            return StopStep { emit: String::new(), stopped: false };
        }
        self.text = decoded.to_owned();
        let first_stop = self.stops.iter().filter_map(|s| self.text.find(s.as_str())).min();
        if let Some(at) = first_stop {
            let at = at.max(self.emitted);
            self.text.truncate(at);
            self.stopped = true;
            let emit = self.text[self.emitted..].to_owned();
            self.emitted = self.text.len();
            return StopStep { emit, stopped: true };
        }
        let safe = self.text.len() - self.held_back();
        let emit = self.text[self.emitted..safe].to_owned();
        self.emitted = safe;
        StopStep { emit, stopped: false }
    }

    /// Length of the longest tail of the text that begins some stop sequence.
    fn held_back(&self) -> usize {
        let mut longest = 0;
        for s in &self.stops {
            for (i, _) in s.char_indices().skip(1) {
                let prefix = &s[..i];
                if i > longest && self.text.ends_with(prefix) {
                    longest = i;
                }
            }
        }
        longest.min(self.text.len() - self.emitted)
    }

    /// The text not emitted yet, once generation is over.
    pub fn finish(&mut self) -> String {
        let rest = self.text[self.emitted..].to_owned();
        self.emitted = self.text.len();
        rest
    }

    /// The text so far, cut before any stop sequence.
    pub fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], steps: &[&str]) -> (Vec<String>, String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut m = StopMatcher::new(&stops);
        let mut out = Vec::new();
        let mut stopped = false;
        for s in steps {
            let step = m.push(s);
            out.push(step.emit);
            if step.stopped {
                stopped = true;
                break;
            }
        }
        out.push(m.finish());
        (out, m.text().to_owned(), stopped)
    }

    #[test]
    fn holds_back_a_possible_stop_and_cuts_at_it() {
        let (out, text, stopped) = run(&["\nUser:"], &["Hi", "Hi\n", "Hi\nUs", "Hi\nUser: x"]);
        assert_eq!(out, vec!["Hi", "", "", "", ""]);
        assert_eq!(text, "Hi");
        assert!(stopped);
    }

    #[test]
    fn releases_held_text_when_it_diverges() {
        let (out, text, stopped) = run(&["END"], &["a E", "a EN", "a ENx"]);
        assert_eq!(out.concat(), "a ENx");
        assert_eq!(out[0], "a ");
        assert_eq!(text, "a ENx");
        assert!(!stopped);
    }

    #[test]
    fn waits_for_incomplete_utf8_and_flushes_at_the_end() {
        let (out, _, _) = run(&[], &["caf", "caf\u{FFFD}", "café"]);
        assert_eq!(out, vec!["caf", "", "é", ""]);
        let (out, _, _) = run(&["zz"], &["abz"]);
        assert_eq!(out, vec!["ab", "z"]);
    }
}
