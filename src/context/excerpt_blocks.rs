//! PURE: finding stack traces in a log, so an excerpt keeps each one whole (or at least its
//! head) instead of a random frame. Recognises the shapes runtimes print:
//!
//! - Java / Kotlin / Node errors: `Exception in thread "main" java.lang.X: ...` or
//!   `SomeError: message` followed by indented `at ...` frames, `... 12 more`,
//!   `Caused by:` and `Suppressed:` sections;
//! - Go: `panic:` or `fatal error:`, then `goroutine N [running]:` / `runtime stack:`,
//!   function lines and tab-indented file lines, blank lines between goroutines;
//! - Python: `Traceback (most recent call last):`, indented `File ...` lines, the final
//!   exception line, and chained tracebacks (`During handling of the above exception ...`);
//! - Node fatal errors: `<--- Last few GCs --->` / `<--- JS stacktrace --->` sections and
//!   `FATAL ERROR:` with numbered native frames.

use std::ops::Range;

/// One stack trace: its lines, and the ones that say what happened (the header, `Caused
/// by:`, Python's exception line, Node's `FATAL ERROR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub range: Range<usize>,
    pub keys: Vec<usize>,
}

/// Every stack trace in `lines`, in log order, not overlapping.
pub fn stack_blocks(lines: &[String]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let found = java_like(lines, i)
            .or_else(|| python(lines, i))
            .or_else(|| go(lines, i))
            .or_else(|| node_fatal(lines, i));
        match found {
            Some(b) => {
                i = b.range.end;
                out.push(b);
            }
            None => i += 1,
        }
    }
    out
}

fn indented(l: &str) -> bool {
    l.starts_with([' ', '\t'])
}

/// `    at com.x.Y.z(Y.java:1)`, `    at f (/app/x.js:1:2)`, `    ... 12 more`.
fn is_frame(l: &str) -> bool {
    let t = l.trim_start();
    indented(l) && (t.starts_with("at ") || t.starts_with("... "))
}

/// `java.lang.IllegalStateException: boom`, `TypeError: x is undefined`, `Caused by: ...`.
fn is_exception_header(l: &str) -> bool {
    let t = l.trim_start();
    if t.starts_with("Exception in thread") || t.starts_with("Caused by:") {
        return true;
    }
    let head = t.split([':', ' ']).next().unwrap_or("");
    let named = head.ends_with("Exception") || head.ends_with("Error");
    let word = !head.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '$' | '_'));
    named && word && t[head.len()..].chars().next().is_none_or(|c| c == ':')
}

fn java_like(lines: &[String], i: usize) -> Option<Block> {
    let header = &lines[i];
    let next_is_frame = lines.get(i + 1).is_some_and(|l| is_frame(l));
    let starts = header.trim_start().starts_with("Exception in thread")
        || (is_exception_header(header) && next_is_frame);
    if !starts {
        return None;
    }
    let mut keys = vec![i];
    let mut j = i + 1;
    while j < lines.len() {
        let l = &lines[j];
        let t = l.trim_start();
        if t.starts_with("Caused by:") || t.starts_with("Suppressed:") {
            keys.push(j);
        } else if !(is_frame(l)
            || (is_exception_header(l) && lines.get(j + 1).is_some_and(|n| is_frame(n))))
        {
            break;
        }
        j += 1;
    }
    Some(Block { range: i..j, keys })
}

fn python(lines: &[String], i: usize) -> Option<Block> {
    if !lines[i].starts_with("Traceback (most recent call last)") {
        return None;
    }
    let mut keys = vec![i];
    let mut j = i + 1;
    loop {
        while j < lines.len() && indented(&lines[j]) {
            j += 1;
        }
        if j < lines.len() && !lines[j].is_empty() {
            keys.push(j);
            j += 1;
        }
        // A chained traceback continues the story.
        let chained = lines.get(j).is_some_and(String::is_empty)
            && lines.get(j + 1).is_some_and(|l| {
                l.starts_with("During handling of the above exception")
                    || l.starts_with("The above exception was the direct cause")
            });
        if !chained {
            break;
        }
        j += 2;
        while lines.get(j).is_some_and(String::is_empty) {
            j += 1;
        }
        if !lines
            .get(j)
            .is_some_and(|l| l.starts_with("Traceback (most recent call last)"))
        {
            break;
        }
        j += 1;
    }
    Some(Block { range: i..j, keys })
}

/// `main.main()`, `runtime.(*mheap).grow(0xd4f3a0, 0x2000?)`.
fn is_go_function(l: &str) -> bool {
    let Some(open) = l.find('(') else {
        return false;
    };
    let name = &l[..open];
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty() && !name.contains(' ') && name.contains('.') && l.ends_with(')')
}

fn go_continues(l: &str) -> bool {
    l.starts_with('\t')
        || l.starts_with("goroutine ")
        || l.starts_with("runtime stack:")
        || l.starts_with("created by ")
        || l.starts_with("[signal ")
        || l.starts_with("exit status ")
        || is_go_function(l)
}

fn go(lines: &[String], i: usize) -> Option<Block> {
    let t = lines[i].trim_start();
    if !(t.starts_with("panic:") || t.starts_with("fatal error:")) {
        return None;
    }
    let mut keys = vec![i];
    let mut j = i + 1;
    while j < lines.len() {
        let l = &lines[j];
        if l.is_empty() {
            if lines.get(j + 1).is_some_and(|n| go_continues(n)) {
                j += 1;
                continue;
            }
            break;
        }
        if l.starts_with("[signal ") || l.starts_with("panic:") {
            keys.push(j);
        } else if !go_continues(l) {
            break;
        }
        j += 1;
    }
    Some(Block { range: i..j, keys })
}

/// ` 1: 0xb09c10 node::Abort() [node]`.
fn is_numbered_frame(l: &str) -> bool {
    let t = l.trim_start();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && t[digits..].starts_with(": 0x")
}

fn node_fatal(lines: &[String], i: usize) -> Option<Block> {
    let t = lines[i].trim();
    if !(t.starts_with("<---") && t.ends_with("--->")) {
        return None;
    }
    let continues = |l: &str| {
        l.starts_with('[')
            || l.starts_with("<---")
            || l.starts_with("FATAL ERROR")
            || is_numbered_frame(l)
            || indented(l)
    };
    let mut keys = Vec::new();
    let mut j = i + 1;
    while j < lines.len() {
        let l = &lines[j];
        if l.is_empty() {
            if lines.get(j + 1).is_some_and(|n| continues(n)) {
                j += 1;
                continue;
            }
            break;
        }
        if l.starts_with("FATAL ERROR") {
            keys.push(j);
        } else if !continues(l) {
            break;
        }
        j += 1;
    }
    keys.push(i);
    Some(Block { range: i..j, keys })
}
