//! Parser for counts files, the input of `peff entropy` (SPEC §5, §6).
//!
//! Two line-oriented formats, never mixed within one file:
//!
//! ```text
//! plain:   one non-negative integer count per line
//!          12
//!          7
//! CSV:     `mask,count` per line, with an optional header line exactly `mask,count` first
//!          mask,count
//!          0011,12
//!          0101,7
//! ```
//!
//! Blank lines and whitespace around lines and fields are ignored, `\r\n` line ends and a leading
//! UTF-8 byte-order mark are accepted. A mask label is any non-empty string without commas;
//! labels must be distinct. Counts are decimal `u64` (digits only; zeros allowed), and their
//! total must fit in a `u64`. Every error names the 1-based line it is on, and the parser never
//! panics, whatever the bytes.

use std::collections::HashMap;

/// A parsed counts file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountsFile {
    /// The counts, in file order (zeros kept).
    pub counts: Vec<u64>,
    /// The mask label of each count (same order), for the CSV format; `None` for plain counts.
    pub labels: Option<Vec<String>>,
}

/// Why a counts file was rejected. Each message is one line and names the line (1-based).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CountsError {
    /// The input is not UTF-8.
    #[error("input is not valid UTF-8 (byte offset {offset})")]
    InvalidUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The input has no data lines.
    #[error("no counts in input")]
    NoCounts,
    /// A count field starts with `-`.
    #[error("line {line}: negative count {value}")]
    NegativeCount {
        /// 1-based line number.
        line: usize,
        /// The field as written.
        value: String,
    },
    /// A count field is not a decimal integer.
    #[error("line {line}: not an integer count: {value:?}")]
    NotAnInteger {
        /// 1-based line number.
        line: usize,
        /// The field as written.
        value: String,
    },
    /// A count does not fit in a `u64`.
    #[error("line {line}: count too large for u64: {value:?}")]
    CountTooLarge {
        /// 1-based line number.
        line: usize,
        /// The field as written.
        value: String,
    },
    /// The running total of the counts passes `u64::MAX` on this line.
    #[error("line {line}: total count exceeds u64::MAX")]
    TotalOverflow {
        /// 1-based line number.
        line: usize,
    },
    /// A line of a CSV file is not `mask,count` (wrong number of fields, or a plain count).
    #[error("line {line}: expected `mask,count`")]
    ExpectedCsv {
        /// 1-based line number.
        line: usize,
    },
    /// A line of a plain file contains a comma.
    #[error("line {line}: expected a single count (plain counts and `mask,count` lines cannot be mixed)")]
    ExpectedPlain {
        /// 1-based line number.
        line: usize,
    },
    /// A CSV line has an empty mask label.
    #[error("line {line}: empty mask label")]
    EmptyLabel {
        /// 1-based line number.
        line: usize,
    },
    /// A mask label appears twice.
    #[error("line {line}: duplicate mask label {label:?} (first on line {first})")]
    DuplicateLabel {
        /// 1-based line number of the repeat.
        line: usize,
        /// The label.
        label: String,
        /// 1-based line number of its first occurrence.
        first: usize,
    },
    /// The `mask,count` header appears after the first data line.
    #[error("line {line}: the `mask,count` header must be the first non-blank line")]
    MisplacedHeader {
        /// 1-based line number.
        line: usize,
    },
}

/// The CSV header line.
const HEADER: &str = "mask,count";

/// The first 60 characters of an input field, for an error message (a 10 MB field must not
/// end up on stderr whole); longer fields end in `…` and give their length in bytes.
fn excerpt(field: &str) -> String {
    const KEEP: usize = 60;
    if field.chars().count() <= KEEP {
        field.to_string()
    } else {
        let head: String = field.chars().take(KEEP).collect();
        format!("{head}… ({} bytes)", field.len())
    }
}

/// Parses one count field (already trimmed).
fn parse_count(field: &str, line: usize) -> Result<u64, CountsError> {
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if is_digits(field) {
        return field
            .parse::<u64>()
            .map_err(|_| CountsError::CountTooLarge {
                line,
                value: excerpt(field),
            });
    }
    if let Some(rest) = field.strip_prefix('-') {
        if is_digits(rest.trim_start()) {
            return Err(CountsError::NegativeCount {
                line,
                value: excerpt(field),
            });
        }
    }
    Err(CountsError::NotAnInteger {
        line,
        value: excerpt(field),
    })
}

/// Parses a counts file: plain (one count per line) or CSV (`mask,count`, optional header).
///
/// The format is decided by the first non-blank line: the header `mask,count` or any line with
/// a comma selects CSV, anything else plain. Blank lines and surrounding whitespace are ignored;
/// `\r\n` and a leading byte-order mark are accepted.
///
/// Errors (each names the 1-based line): [`CountsError::InvalidUtf8`] (with the byte offset),
/// [`CountsError::NoCounts`] for an input without data lines (a header alone included),
/// [`CountsError::NegativeCount`], [`CountsError::NotAnInteger`] (e.g. `1.5`, `1e3`, `+2`),
/// [`CountsError::CountTooLarge`], [`CountsError::TotalOverflow`], [`CountsError::ExpectedCsv`] /
/// [`CountsError::ExpectedPlain`] for mixed formats or a wrong field count,
/// [`CountsError::EmptyLabel`], [`CountsError::DuplicateLabel`] and
/// [`CountsError::MisplacedHeader`]. Never panics.
///
/// # Example
/// ```
/// # use peff::info::counts::parse_counts;
/// let file = parse_counts(b"mask,count\r\n0011,12\r\n\r\n0101, 7\r\n")?;
/// assert_eq!(file.counts, vec![12, 7]);
/// assert_eq!(file.labels, Some(vec!["0011".to_string(), "0101".to_string()]));
/// let err = parse_counts(b"3\n-2\n").unwrap_err();
/// assert_eq!(err.to_string(), "line 2: negative count -2");
/// # Ok::<(), peff::info::counts::CountsError>(())
/// ```
pub fn parse_counts(bytes: &[u8]) -> Result<CountsFile, CountsError> {
    let text = std::str::from_utf8(bytes).map_err(|e| CountsError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let mut counts: Vec<u64> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut csv: Option<bool> = None;
    let mut total: u64 = 0;

    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let content = raw.trim();
        if content.is_empty() {
            continue;
        }
        let is_csv = match csv {
            Some(is_csv) => is_csv,
            None => {
                let is_csv = content.contains(',');
                csv = Some(is_csv);
                if content == HEADER {
                    continue;
                }
                is_csv
            }
        };
        let count = if is_csv {
            if content == HEADER {
                return Err(CountsError::MisplacedHeader { line });
            }
            let mut fields = content.split(',');
            let (label, field) = match (fields.next(), fields.next(), fields.next()) {
                (Some(label), Some(field), None) => (label.trim(), field.trim()),
                _ => return Err(CountsError::ExpectedCsv { line }),
            };
            if label.is_empty() {
                return Err(CountsError::EmptyLabel { line });
            }
            let count = parse_count(field, line)?;
            if let Some(&first) = seen.get(label) {
                return Err(CountsError::DuplicateLabel {
                    line,
                    label: excerpt(label),
                    first,
                });
            }
            seen.insert(label.to_string(), line);
            labels.push(label.to_string());
            count
        } else {
            if content.contains(',') {
                return Err(CountsError::ExpectedPlain { line });
            }
            parse_count(content, line)?
        };
        total = total
            .checked_add(count)
            .ok_or(CountsError::TotalOverflow { line })?;
        counts.push(count);
    }

    if counts.is_empty() {
        return Err(CountsError::NoCounts);
    }
    Ok(CountsFile {
        counts,
        labels: (csv == Some(true)).then_some(labels),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_csv() {
        let f = parse_counts(b"  3\n\n0\r\n 12 \n").unwrap();
        assert_eq!(f.counts, vec![3, 0, 12]);
        assert_eq!(f.labels, None);
        let f = parse_counts(b"\xEF\xBB\xBFa b,1\nc,2\n").unwrap();
        assert_eq!(f.counts, vec![1, 2]);
        assert_eq!(f.labels, Some(vec!["a b".into(), "c".into()]));
    }

    #[test]
    fn error_messages_name_the_line() {
        let cases: &[(&[u8], &str)] = &[
            (b"1\n2\n-2\n", "line 3: negative count -2"),
            (b"1\n\n\n\n1.5\n", "line 5: not an integer count: \"1.5\""),
            (b"a,1\n2\n", "line 2: expected `mask,count`"),
            (b"a,1\nb,2,3\n", "line 2: expected `mask,count`"),
            (
                b"1\na,2\n",
                "line 2: expected a single count (plain counts and `mask,count` lines cannot be mixed)",
            ),
            (b"a,1\n ,2\n", "line 2: empty mask label"),
            (
                b"mask,count\na,1\nb,2\na,3\n",
                "line 4: duplicate mask label \"a\" (first on line 2)",
            ),
            (
                b"a,1\nmask,count\n",
                "line 2: the `mask,count` header must be the first non-blank line",
            ),
            (
                b"18446744073709551616\n",
                "line 1: count too large for u64: \"18446744073709551616\"",
            ),
            (
                b"18446744073709551615\n1\n",
                "line 2: total count exceeds u64::MAX",
            ),
            (b"ok\xff\n", "input is not valid UTF-8 (byte offset 2)"),
            (b"\n \r\n", "no counts in input"),
            (b"mask,count\n", "no counts in input"),
            (b"+2\n", "line 1: not an integer count: \"+2\""),
        ];
        for (input, want) in cases {
            let err = parse_counts(input).unwrap_err();
            assert_eq!(
                err.to_string(),
                *want,
                "input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
