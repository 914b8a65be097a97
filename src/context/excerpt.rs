//! PURE: the part of a container log worth showing, within a character budget.
//!
//! A crash tells its story at the end of the log and in its errors: the last lines, every
//! line that says error / exception / panic / fatal / OOM, and whole stack traces (Java,
//! Go, Python, Node). [`excerpt`] keeps those first, then as much of the remaining tail as
//! fits, in log order, with `… (N lines skipped)` where lines were left out. It is
//! self-contained so the read-only `logs` tool can use it too.

use std::collections::{BTreeSet, HashSet};

/// Lines longer than this are cut (minified JSON, base64 blobs): the start says what it is.
const MAX_LINE_CHARS: usize = 400;
/// The last lines, kept before anything else.
const TAIL_KEEP: usize = 5;
/// Of a stack trace, the frames right after each key line (header, `Caused by:`) come with
/// it; then, once every trouble is in, up to this many of its first lines; the rest only as
/// part of the tail.
const KEY_FRAMES: usize = 3;
const BLOCK_HEAD: usize = 15;

/// The lines of `log` worth showing, at most `budget` characters (Unicode scalar values).
///
/// Priority: the last five lines; then stack traces and error lines, newest first (a
/// trace's header and `Caused by:` / exception lines before its frames; an error line
/// with one line around it; repeats of the same error only once); then the rest of the
/// tail, newest first, leaving out lines that repeat a shown one up to numbers. The result
/// is in log order; ANSI colour codes are stripped.
pub fn excerpt(log: &str, budget: usize) -> String {
    let lines = clean(log);
    if lines.is_empty() || budget == 0 {
        return String::new();
    }
    if lines.iter().map(|l| len(l) + 1).sum::<usize>() - 1 <= budget {
        return lines.join("\n");
    }
    let (groups, older) = priority_groups(&lines);
    let mut picker = Picker::new(&lines);
    for group in &groups {
        for &i in group {
            if !picker.try_add(i, budget) {
                // Pieces stay contiguous: no frame after a gap in the middle of a trace.
                break;
            }
        }
    }
    // The rest of the tail, newest first, without lines that repeat one already shown up to
    // numbers ("loaded page 17", "loaded page 18"): the skip marker counts them.
    let mut shown: HashSet<String> = picker
        .selected
        .iter()
        .map(|&i| normalise(&lines[i]))
        .collect();
    for i in older {
        let key = normalise(&lines[i]);
        if shown.contains(&key) {
            continue;
        }
        if !picker.try_add(i, budget) {
            break;
        }
        shown.insert(key);
    }
    if picker.selected.is_empty() {
        // Not even the last line fits: its start, cut.
        let last = &lines[lines.len() - 1];
        return cut(last, budget);
    }
    picker.render()
}

/// Character count (what budgets measure).
fn len(s: &str) -> usize {
    s.chars().count()
}

fn cut(s: &str, max: usize) -> String {
    if len(s) <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Lines without colour codes, control characters or trailing blanks; long ones cut; no
/// blank lines at either end.
fn clean(log: &str) -> Vec<String> {
    let mut out: Vec<String> = log
        .lines()
        .map(|l| cut(strip_controls(l).trim_end(), MAX_LINE_CHARS))
        .collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    let leading = out.iter().take_while(|l| l.is_empty()).count();
    out.drain(..leading);
    out
}

/// Removes ANSI escape sequences (`ESC [ ... final`) and control characters except tabs.
fn strip_controls(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters and intermediates, up to the final byte (@ to ~).
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            }
            continue;
        }
        if c == '\t' || !c.is_control() {
            out.push(c);
        }
    }
    out
}

/// The order in which lines are considered, as pieces that are taken until one line no
/// longer fits: the last lines; every trouble's key lines, newest trouble first (a trace's
/// header and `Caused by:` lines with the frames right after them, an error line with its
/// neighbours); the traces' further frames. Second, the rest of the tail, newest first.
fn priority_groups(lines: &[String]) -> (Vec<Vec<usize>>, Vec<usize>) {
    let n = lines.len();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    groups.push((n.saturating_sub(TAIL_KEEP)..n).rev().collect());

    // Troubles (traces and error lines), keyed by where they end, newest first.
    let blocks = super::excerpt_blocks::stack_blocks(lines);
    let in_block: HashSet<usize> = blocks.iter().flat_map(|b| b.range.clone()).collect();
    let mut troubles: Vec<(usize, String, Vec<usize>, Vec<usize>)> = Vec::new();
    for b in &blocks {
        let mut keys = Vec::new();
        for &k in &b.keys {
            keys.extend((k..b.range.end).take(1 + KEY_FRAMES));
        }
        let deeper = b.range.clone().take(BLOCK_HEAD).collect();
        troubles.push((
            b.range.end - 1,
            normalise(&lines[b.range.start]),
            keys,
            deeper,
        ));
    }
    for (i, line) in lines.iter().enumerate() {
        if in_block.contains(&i) || !is_error_line(line) {
            continue;
        }
        let mut keys = vec![i];
        if i > 0 && !lines[i - 1].is_empty() {
            keys.push(i - 1);
        }
        if i + 1 < n && !lines[i + 1].is_empty() {
            keys.push(i + 1);
        }
        troubles.push((i, normalise(line), keys, Vec::new()));
    }
    troubles.sort_by_key(|t| std::cmp::Reverse(t.0));
    let mut seen = HashSet::new();
    // The same error again (a retry loop): its newest occurrence is enough.
    troubles.retain(|t| seen.insert(t.1.clone()));
    let mut deeper = Vec::new();
    for (_, _, keys, more) in troubles {
        groups.push(keys);
        deeper.push(more);
    }
    groups.extend(deeper);
    (groups, (0..n.saturating_sub(TAIL_KEEP)).rev().collect())
}

/// The line with digit runs folded, so repeats that differ by timestamps or counters match.
fn normalise(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_digits = false;
    for c in line.trim().chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('0');
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(c);
        }
    }
    out
}

/// Words that mark a line as an error.
const ERROR_WORDS: &[&str] = &[
    "error",
    "errors",
    "exception",
    "panic",
    "panicked",
    "fatal",
    "oom",
    "oomkilled",
    "killed",
    "traceback",
    "failed",
    "failure",
    "critical",
    "segfault",
    "sigsegv",
    "sigkill",
    "sigabrt",
    "aborted",
    "crashed",
    "unhandled",
    "refused",
    "denied",
];

/// Whether a line reports an error: an error word, a word ending in `error` / `exception`
/// (`OutOfMemoryError`, `ValueError`), `out of memory`, or a klog `E0102` / `F0102` prefix.
pub fn is_error_line(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    if lower.contains("out of memory") {
        return true;
    }
    let b = line.as_bytes();
    if b.len() > 5 && (b[0] == b'E' || b[0] == b'F') && b[1..5].iter().all(u8::is_ascii_digit) {
        return true;
    }
    lower.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        ERROR_WORDS.contains(&w)
            || (w.len() > 5 && (w.ends_with("error") || w.ends_with("exception")))
    })
}

/// The selection so far and the exact length of its rendering, kept up to date as lines
/// are added (a gap's marker shrinks or splits).
struct Picker<'a> {
    lines: &'a [String],
    selected: BTreeSet<usize>,
    /// Sum over rendered pieces of (length + 1 newline).
    total: usize,
}

impl<'a> Picker<'a> {
    fn new(lines: &'a [String]) -> Self {
        Self {
            lines,
            selected: BTreeSet::new(),
            total: gap_cost(lines.len()),
        }
    }

    /// Adds line `i` when the result still fits `budget`; true when it is (now) selected.
    fn try_add(&mut self, i: usize, budget: usize) -> bool {
        if self.selected.contains(&i) {
            return true;
        }
        let before = self.selected.range(..i).next_back().map_or(0, |p| p + 1);
        let after = self
            .selected
            .range(i + 1..)
            .next()
            .copied()
            .unwrap_or(self.lines.len());
        let total = self.total - gap_cost(after - before)
            + gap_cost(i - before)
            + gap_cost(after - i - 1)
            + len(&self.lines[i])
            + 1;
        if total - 1 > budget {
            return false;
        }
        self.total = total;
        self.selected.insert(i);
        true
    }

    fn render(&self) -> String {
        let mut out: Vec<String> = Vec::new();
        let mut next = 0;
        for &i in &self.selected {
            if i > next {
                out.push(marker(i - next));
            }
            out.push(self.lines[i].clone());
            next = i + 1;
        }
        if next < self.lines.len() {
            out.push(marker(self.lines.len() - next));
        }
        out.join("\n")
    }
}

fn marker(skipped: usize) -> String {
    if skipped == 1 {
        "… (1 line skipped)".to_string()
    } else {
        format!("… ({skipped} lines skipped)")
    }
}

/// What a gap of `skipped` lines costs in the rendering (its marker and newline).
fn gap_cost(skipped: usize) -> usize {
    if skipped == 0 {
        0
    } else {
        len(&marker(skipped)) + 1
    }
}
