//! What each rule does with its match: replace it, replace part of it, or leave it because it
//! is not a secret after all (a placeholder, prose, a path). Every function returns where the
//! search resumes.

use regex_automata::util::captures::Captures;

use super::{Output, Redactor};

/// One match and everything needed to act on it.
pub(super) struct Ctx<'c, 't> {
    pub text: &'t str,
    pub caps: &'c Captures,
    /// The rule's name: the `{kind}` of the replacement.
    pub name: &'static str,
    pub redactor: &'c Redactor,
}

/// The groups that hold a value, in the order the patterns use them; exactly one takes part.
const VALUE_GROUPS: [&str; 8] = ["dq", "eq", "sq", "ang", "br", "bare", "flag", "secret"];

impl Ctx<'_, '_> {
    pub fn start(&self) -> usize {
        self.caps.get_match().map_or(0, |m| m.start())
    }

    pub fn end(&self) -> usize {
        self.caps.get_match().map_or(0, |m| m.end())
    }

    pub fn group(&self, name: &str) -> Option<(usize, usize)> {
        self.caps.get_group_by_name(name).map(|s| (s.start, s.end))
    }

    /// The value's span and the group it came from.
    fn value(&self) -> Option<(usize, usize, &'static str)> {
        VALUE_GROUPS
            .iter()
            .find_map(|g| self.group(g).map(|(s, e)| (s, e, *g)))
    }

    /// Writes `[REDACTED:<name>]` over `start..end`.
    pub fn mark(&self, out: &mut Output<'_>, start: usize, end: usize) {
        let marker = &self.redactor.marker;
        match &marker.after {
            Some(after) => out.replace(start, end, &[&marker.before, self.name, after]),
            None => out.replace(start, end, &[&marker.before]),
        }
    }

    /// Writes `[REDACTED]` over `start..end`.
    pub fn mark_keyed(&self, out: &mut Output<'_>, start: usize, end: usize) {
        out.replace(start, end, &[&self.redactor.keyed]);
    }

    pub fn token(&self, out: &mut Output<'_>) -> usize {
        let (start, end) = self.group("secret").unwrap_or((self.start(), self.end()));
        self.mark(out, start, end);
        self.end()
    }

    pub fn keyed(&self, out: &mut Output<'_>) -> usize {
        if let Some((start, end, group)) = self.value()
            && !self.is_placeholder_value(start, end, group)
        {
            self.mark_keyed(out, start, end);
        }
        self.end()
    }

    pub fn env_value(&self, out: &mut Output<'_>) -> usize {
        if let Some((start, end, group)) = self.value() {
            let end = if group == "bare" {
                trim_bare(self.text, start, end)
            } else {
                end
            };
            if !self.is_placeholder_value(start, end, group) {
                self.mark_keyed(out, start, end);
            }
        }
        // In a diff the old and the new value follow the name, one after the other.
        let mut resume = self.end();
        while let Some((start, end)) = diff_value_line(self.text, resume) {
            if !self.redactor.is_placeholder(&self.text[start..end]) {
                self.mark_keyed(out, start, end);
            }
            resume = end;
        }
        resume
    }

    /// A placeholder, judged on the value as written: `<...>` always is one (describe's
    /// `<set to the key 'password' in secret 'db-creds'>`), `[...]` with its brackets.
    fn is_placeholder_value(&self, start: usize, end: usize, group: &str) -> bool {
        // An earlier redaction, even where the value's pattern stops at its `]` or took its
        // `[` for the bracket of a Go header map.
        let marker = &self.redactor.marker;
        let earlier = |rest: &str| {
            rest.starts_with(self.redactor.keyed.as_str())
                || (marker.after.is_some() && rest.starts_with(marker.before.as_str()))
        };
        if earlier(&self.text[start..])
            || (self.text[..start].ends_with('[') && earlier(&self.text[start - 1..]))
        {
            return true;
        }
        match group {
            "ang" => true,
            "br" => self.redactor.is_placeholder(&self.text[start - 1..end + 1]),
            _ => self.redactor.is_placeholder(&self.text[start..end]),
        }
    }

    /// `key=value` and its cousins. Left alone: placeholders, code (`token = get_token()`), a
    /// block scalar's indicator (the block rule handles those), `PWD=/app` (a directory),
    /// describe's `8 bytes`, and prose: `failed to refresh token: context deadline exceeded`.
    pub fn key_value(&self, out: &mut Output<'_>) -> usize {
        let Some((start, end, group)) = self.value() else {
            return self.end();
        };
        let text = self.text;
        let end = if matches!(group, "bare" | "flag") {
            trim_bare(text, start, end)
        } else {
            end
        };
        let value = &text[start..end];
        if end == start || self.is_placeholder_value(start, end, group) || is_block_indicator(value)
        {
            return self.end();
        }
        let (key_start, key_end) = self.group("key").unwrap_or((start, start));
        let key = &text[key_start..key_end];
        if key.len() >= 3
            && key[key.len() - 3..].eq_ignore_ascii_case("pwd")
            && value.starts_with(['/', '~'])
        {
            return self.end();
        }
        if group == "bare"
            && value.bytes().all(|b| b.is_ascii_digit())
            && text[end..].starts_with(" bytes")
        {
            return self.end();
        }
        if group == "bare" && (is_code(value) || (self.is_prose(key_start) && !looks_secret(value)))
        {
            return self.end();
        }
        self.mark_keyed(out, start, end);
        self.end()
    }

    /// A bare value after `key: ` (colon, then a space) where the key is not where keys stand
    /// (start of a line, after `{`, `,`, a quote...) reads as a sentence:
    /// `error validating token: signature is invalid`.
    fn is_prose(&self, key_start: usize) -> bool {
        let Some((sep_start, sep_end)) = self.group("sep") else {
            return false;
        };
        let text = self.text.as_bytes();
        if &text[sep_start..sep_end] != b":" || !matches!(text.get(sep_end), Some(b' ' | b'\t')) {
            return false;
        }
        let mut i = key_start;
        if self.group("kq").is_some() {
            // Step over the key's opening quote (and its escape).
            if i > 0 && matches!(text[i - 1], b'"' | b'\'') {
                i -= 1;
                if i > 0 && text[i - 1] == b'\\' {
                    i -= 1;
                }
            }
        }
        while i > 0 && matches!(text[i - 1], b' ' | b'\t') {
            i -= 1;
        }
        if i == 0 {
            return false;
        }
        match text[i - 1] {
            b'\n' | b'\r' | b'{' | b'[' | b'(' | b',' | b';' | b'|' | b'"' | b'\'' | b'`' => false,
            // An escaped newline or tab inside a JSON string starts a line too.
            b'n' | b't' if i >= 2 && text[i - 2] == b'\\' => false,
            // A YAML list item, or a line of a unified diff.
            b'-' | b'+' => !(i == 1 || matches!(text[i - 2], b' ' | b'\t' | b'\n')),
            _ => true,
        }
    }

    /// Base64 of a PEM block: a private key unless it decodes to a certificate or public key.
    pub fn base64_pem(&self, out: &mut Output<'_>) -> usize {
        let b64 = &self.text[self.start()..self.end()];
        let head = decode_base64_prefix(b64, 64);
        let head = String::from_utf8_lossy(&head);
        let public = !head.contains("PRIVATE")
            && (head.contains("CERTIFICATE") || head.contains("PUBLIC KEY"));
        if !public {
            self.mark(out, self.start(), self.end());
        }
        self.end()
    }

    /// An IPv6 candidate: redacted when it parses, has a hex digit, and is not part of a
    /// longer word (`std::io`, `12:30:00`).
    pub fn ipv6(&self, out: &mut Output<'_>) -> usize {
        let (start, end) = (self.start(), self.end());
        let bytes = self.text.as_bytes();
        let joined = |b: Option<&u8>| {
            b.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.'))
        };
        let candidate = &self.text[start..end];
        let alone =
            !joined(start.checked_sub(1).and_then(|i| bytes.get(i))) && !joined(bytes.get(end));
        if alone
            && candidate.bytes().any(|b| b.is_ascii_hexdigit())
            && candidate.parse::<std::net::Ipv6Addr>().is_ok()
        {
            self.mark(out, start, end);
        }
        end
    }
}

impl Redactor {
    /// A value that stands for a secret without being one: empty, `null`, `true`, `***`,
    /// `${DB_PASSWORD}`, `$(cat /run/x)`, `{{ .Values.password }}`, `<password>`, or an
    /// earlier redaction (so redacting twice changes nothing).
    pub(super) fn is_placeholder(&self, value: &str) -> bool {
        let v = value.trim();
        if v.is_empty() || v == self.keyed {
            return true;
        }
        let marker = &self.marker;
        let earlier = match &marker.after {
            Some(after) => v.starts_with(marker.before.as_str()) && v.ends_with(after.as_str()),
            None => v == marker.before,
        };
        if earlier {
            return true;
        }
        if ["null", "nil", "none", "true", "false", "\"\"", "''"]
            .iter()
            .any(|p| v.eq_ignore_ascii_case(p))
        {
            return true;
        }
        let b = v.as_bytes();
        b.iter().all(|&c| c == b'*')
            || (v.starts_with("${") && v.ends_with('}'))
            || (v.starts_with("$(") && v.ends_with(')'))
            || (v.starts_with("{{") && v.ends_with("}}"))
            || (v.starts_with('<') && v.ends_with('>'))
            || (b[0] == b'$'
                && b.len() > 1
                && !b[1].is_ascii_digit()
                && b[1..]
                    .iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_'))
    }
}

/// The value of a diff line `+  value: x` (or `-`) right after `at`'s line: its span without
/// quotes.
fn diff_value_line(text: &str, at: usize) -> Option<(usize, usize)> {
    let line_start = at + text[at..].find('\n')? + 1;
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = text[line_start..line_end].trim_end_matches('\r');
    let body = line.strip_prefix(['+', '-'])?;
    let value = body
        .trim_start_matches([' ', '\t'])
        .strip_prefix("value:")?;
    let trimmed = value.trim();
    let unquoted = trimmed.trim_matches(['"', '\'']);
    if unquoted.is_empty() {
        return None;
    }
    let start = line_start + (line.len() - value.len()) + value.find(unquoted)?;
    Some((start, start + unquoted.len()))
}

/// A bare value ends before a trailing comma and before closing brackets it did not open
/// (`{Password:hunter2}`, `password=x,`).
pub(super) fn trim_bare(text: &str, start: usize, mut end: usize) -> usize {
    let bytes = text.as_bytes();
    while end > start {
        let last = bytes[end - 1];
        let open = match last {
            b',' => {
                end -= 1;
                continue;
            }
            b')' => b'(',
            b']' => b'[',
            b'}' => b'{',
            _ => break,
        };
        let opened = bytes[start..end - 1].iter().filter(|&&b| b == open).count();
        let closed = bytes[start..end].iter().filter(|&&b| b == last).count();
        if closed > opened {
            end -= 1;
        } else {
            break;
        }
    }
    end
}

fn is_block_indicator(value: &str) -> bool {
    let mut b = value.bytes();
    matches!(b.next(), Some(b'|' | b'>')) && b.all(|c| matches!(c, b'-' | b'+' | b'0'..=b'9'))
}

/// A bare value that is a call or an index in source code, as a stack trace quotes it:
/// `token = client.fetch_token(scope="read")`, `password = os.environ["DB_PASSWORD"]`. Needs a
/// `.` or `_` in the name, so `Summer(2024)` still counts as a password.
fn is_code(value: &str) -> bool {
    let Some(bracket) = value.find(['(', '[']) else {
        return false;
    };
    let name = &value[..bracket];
    let identifier = |s: &str| {
        s.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    name.contains(['.', '_']) && name.split('.').all(identifier)
}

/// Whether a word after `key: ` in a sentence could be a credential: mixed letters and digits,
/// a symbol, or long. `expired`, `EOF`, `Get` and `401` are words; `hunter2` and `s3cr3t!` are
/// not.
fn looks_secret(value: &str) -> bool {
    let v = value.trim_end_matches(['.', ':', '!', '?']);
    let letters = v.bytes().any(|b| b.is_ascii_alphabetic());
    let digits = v.bytes().any(|b| b.is_ascii_digit());
    let symbols = v.bytes().any(|b| !b.is_ascii_alphanumeric());
    v.len() >= 16 || (letters && digits) || symbols
}

/// Decodes the start of standard base64 (at most `max` input bytes, stopping at the first
/// byte outside the alphabet).
pub(super) fn decode_base64_prefix(b64: &str, max: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(max / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in b64.bytes().take(max) {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => break,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
