//! One-line errors: every failure of `peff` is reported as a single line on stderr, whatever
//! the input it quotes.
//!
//! Two rules, used everywhere a message echoes user input:
//! - [`quote`] shortens a quoted input to [`QUOTE_CHARS`] characters (with its full length), so
//!   a 10 MB line in a counts file or a huge flag value never floods the terminal;
//! - [`one_line`] escapes control characters (line breaks of a malformed file's text) and caps
//!   the whole message at [`MAX_LINE_CHARS`] characters, a last line of defence for messages
//!   that quote input without [`quote`].
//!
//! [`clap_one_line`] turns clap's multi-line errors into one line that still names the flag
//! and, for a bad value, lists the valid values.

pub use crate::settings::{quote, QUOTE_CHARS};
/// Longest error line printed.
pub const MAX_LINE_CHARS: usize = 400;

/// Numbers written with more than this many characters are printed in scientific form.
pub const MAX_NUMBER_CHARS: usize = 24;

/// `message` with every number longer than [`MAX_NUMBER_CHARS`] characters (an `f64` such as
/// 1e-300 printed by `{}` takes 302, a `u128` count 39) written compactly, `1e-300`,
/// `3.402823669209385e38`. Numbers inside a word or a path (a hash, a file name) are left as
/// they are.
pub fn compact_numbers(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len());
    let mut i = 0;
    while i < chars.len() {
        let boundary =
            i == 0 || !(chars[i - 1].is_alphanumeric() || "_/.\\".contains(chars[i - 1]));
        if chars[i].is_ascii_digit() && boundary {
            let mut j = i;
            let mut dots = 0;
            while j < chars.len() && (chars[j].is_ascii_digit() || (chars[j] == '.' && dots == 0)) {
                dots += usize::from(chars[j] == '.');
                j += 1;
            }
            // A trailing '.' ends a sentence, not the number.
            let end = if chars[j - 1] == '.' { j - 1 } else { j };
            let token: String = chars[i..end].iter().collect();
            let glued = j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_');
            match token.parse::<f64>() {
                Ok(v) if token.len() > MAX_NUMBER_CHARS && !glued => {
                    out.push_str(&format!("{v:e}"));
                }
                _ => out.push_str(&token),
            }
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The message on one line: control characters (line breaks included) escaped, numbers
/// written compactly ([`compact_numbers`]), and at most [`MAX_LINE_CHARS`] characters (a
/// longer one is cut, saying how long it was).
pub fn one_line(message: &str) -> String {
    let message = compact_numbers(message);
    let escaped = crate::settings::escape_control(&message);
    let count = escaped.chars().count();
    if count <= MAX_LINE_CHARS {
        escaped
    } else {
        let head: String = escaped.chars().take(MAX_LINE_CHARS).collect();
        format!("{head}… (message cut; {count} characters in all)")
    }
}

/// A clap error as one line: its message lines (the error, the valid values, a tip), without
/// the usage block and the "For more information" footer, joined by spaces.
pub fn clap_one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let kept: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = if kept.is_empty() {
        "error: invalid arguments".to_string()
    } else {
        kept.join(" ")
    };
    one_line(&shorten_quoted(&line))
}

/// Cuts every `'…'`-quoted span longer than [`QUOTE_CHARS`] characters (clap quotes the value it
/// rejects before naming the flag, so a huge value must not push the flag off the line).
fn shorten_quoted(text: &str) -> String {
    let parts: Vec<&str> = text.split('\'').collect();
    if parts.len() < 3 {
        return text.to_string();
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let inside = i % 2 == 1 && i + 1 < parts.len();
            if inside && part.chars().count() > QUOTE_CHARS {
                let head: String = part.chars().take(QUOTE_CHARS).collect();
                format!("{head}… ({} bytes)", part.len())
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_cuts_long_input_and_says_how_long_it_was() {
        assert_eq!(quote("abc"), "'abc'");
        let long = "x".repeat(10_000);
        let q = quote(&long);
        assert!(q.len() < 100, "{q}");
        assert!(q.contains("10000 bytes"), "{q}");
        assert_eq!(quote("a\nb"), "'a\\nb'");
    }

    #[test]
    fn one_line_caps_the_message() {
        let msg = format!("bad value {}", "y".repeat(1_000_000));
        let line = one_line(&msg);
        assert!(line.chars().count() < MAX_LINE_CHARS + 60);
        assert!(!line.contains('\n'));
        assert_eq!(one_line("a\r\nb"), "a\\r\\nb");
    }
}
