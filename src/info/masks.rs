//! Masks as data: the counts of distinct masks among `N` masks of `p` entries, the input of the
//! entropy estimators (`peff entropy --masks`, the Python `peff.mask_counts`), and a validating
//! reader of the NumPy `.npy` files that hold such masks.
//!
//! ```text
//! masks   N × p matrix of entries 0 or 1, row r = mask r (C order: a row's entries are contiguous)
//! counts  c_j = #{r : row r = the j-th distinct row},  j in order of first appearance,  Σ c_j = N
//! .npy    b"\x93NUMPY" major minor | header length: u16 LE (v1.0), u32 LE (v2.0, v3.0)
//!         | header: {'descr': '|b1' or '|u1', 'fortran_order': False, 'shape': (N, p)}
//!         | N·p data bytes, one per entry
//! ```
//!
//! Rows are compared exactly (as bit-packed keys of `⌈p/8⌉` bytes), so two masks share a count
//! only when every entry agrees. Inputs are refused, each with a one-line [`MaskError`], when
//! there are no masks or no entries, when an entry is neither 0 nor 1, or when `N·p` is above
//! [`MAX_MASK_ENTRIES`]; the reader also refuses another format version, a header above
//! [`MAX_NPY_HEADER_BYTES`], a malformed header, another dtype, Fortran order, a shape that is
//! not 2-D, and data shorter or longer than the shape says. It never panics, whatever the bytes.
//!
//! # Example
//! ```
//! use peff::info::masks::{count_masks, parse_npy_masks};
//! // three masks of four entries, two of them equal
//! let data = [1, 0, 1, 0, /**/ 0, 1, 1, 0, /**/ 1, 0, 1, 0];
//! assert_eq!(count_masks(&data, 3, 4)?, vec![2, 1]);
//! let mut npy = b"\x93NUMPY\x01\x00".to_vec();
//! let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 4), }\n";
//! npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
//! npy.extend_from_slice(header.as_bytes());
//! npy.extend_from_slice(&data);
//! let masks = parse_npy_masks(&npy)?;
//! assert_eq!((masks.rows, masks.entries), (3, 4));
//! assert_eq!(masks.counts()?, vec![2, 1]);
//! # Ok::<(), peff::info::masks::MaskError>(())
//! ```
//!
//! ## References
//! - NumPy Enhancement Proposal 1 (NEP 1), "A simple file format for NumPy arrays", and
//!   `numpy.lib.format` (format versions 1.0, 2.0 and 3.0).

use std::collections::HashMap;

/// Largest number of entries `N·p` accepted: 2^32 (4 GiB of one-byte entries).
pub const MAX_MASK_ENTRIES: u64 = 1 << 32;
/// Largest `.npy` header accepted, in bytes (NumPy's own writers stay far below it).
pub const MAX_NPY_HEADER_BYTES: usize = 1 << 16;
/// Largest `.npy` file `peff entropy --masks` reads: the largest header and data together.
pub const MAX_NPY_BYTES: u64 = MAX_MASK_ENTRIES + MAX_NPY_HEADER_BYTES as u64 + 12;

/// Why masks were refused. Every message is one line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MaskError {
    /// There are no masks (`N = 0`).
    #[error("no masks: the input holds 0 masks")]
    NoMasks,
    /// The masks have no entries (`p = 0`).
    #[error("the masks have 0 entries")]
    NoEntries,
    /// `N·p` is above [`MAX_MASK_ENTRIES`].
    #[error("{rows} masks of {entries} entries are above peff's limit of 2^32 = 4294967296 entries in all")]
    TooLarge {
        /// Number of masks `N`.
        rows: u64,
        /// Entries per mask `p`.
        entries: u64,
    },
    /// An entry is neither 0 nor 1.
    #[error("mask {row}, entry {entry}: value {value} is not 0 or 1")]
    NotBinary {
        /// 0-based mask index.
        row: u64,
        /// 0-based entry index within the mask.
        entry: u64,
        /// The value found.
        value: u8,
    },
    /// A mask has another number of entries than the first.
    #[error("mask {row} has {found} entries, mask 0 has {expected}")]
    WrongLength {
        /// 0-based mask index.
        row: u64,
        /// Its number of entries.
        found: u64,
        /// The first mask's number of entries.
        expected: u64,
    },
    /// The bytes do not start with the `.npy` magic string.
    #[error("not a .npy file (it does not start with \\x93NUMPY)")]
    NotNpy,
    /// A `.npy` format version other than 1.0, 2.0 and 3.0.
    #[error(".npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)")]
    Version {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The file ends inside the preamble, the header or the data.
    #[error("truncated .npy file: {what} needs {needed} bytes, {found} remain")]
    Truncated {
        /// Which part is cut short.
        what: &'static str,
        /// Bytes that part needs.
        needed: u64,
        /// Bytes left in the file.
        found: u64,
    },
    /// The header length is above [`MAX_NPY_HEADER_BYTES`].
    #[error(".npy header of {length} bytes is above peff's limit of 65536 bytes")]
    HeaderTooLong {
        /// The header length the file gives.
        length: u64,
    },
    /// The header is not the dictionary NumPy writes.
    #[error("malformed .npy header: {0}")]
    BadHeader(String),
    /// The array's dtype is not bool or uint8.
    #[error("dtype '{descr}' is not a mask dtype: expected '|b1' (bool) or '|u1' (uint8)")]
    Dtype {
        /// The dtype as NumPy writes it (`'<f4'`, `'<i8'`, …).
        descr: String,
    },
    /// The array is stored in Fortran (column-major) order.
    #[error("the array is stored in Fortran order (fortran_order: True); save it in C order, e.g. np.save(path, np.ascontiguousarray(masks))")]
    FortranOrder,
    /// The array is not 2-D.
    #[error("expected a 2-D array of N masks × p entries, got shape {shape}")]
    Shape {
        /// The shape as a Python tuple.
        shape: String,
    },
    /// Bytes follow the data the shape accounts for.
    #[error(".npy file has {extra} bytes after the {expected} data bytes its shape gives")]
    TrailingBytes {
        /// Bytes after the data.
        extra: u64,
        /// Data bytes the shape gives.
        expected: u64,
    },
}

/// Checks `N ≥ 1`, `p ≥ 1` and `N·p ≤` [`MAX_MASK_ENTRIES`] before anything is allocated.
pub fn check_size(rows: u64, entries: u64) -> Result<(), MaskError> {
    if rows == 0 {
        return Err(MaskError::NoMasks);
    }
    if entries == 0 {
        return Err(MaskError::NoEntries);
    }
    match rows.checked_mul(entries) {
        Some(total) if total <= MAX_MASK_ENTRIES => Ok(()),
        _ => Err(MaskError::TooLarge { rows, entries }),
    }
}

/// Counts distinct masks added one at a time; each mask may arrive in several parts (the
/// entries of a `state_dict`'s tensors, one after another).
#[derive(Debug)]
pub struct MaskCounter {
    entries: usize,
    index: HashMap<Box<[u8]>, usize>,
    counts: Vec<u64>,
    rows: u64,
    key: Vec<u8>,
}

impl MaskCounter {
    /// A counter of masks of `entries` entries each (checked when masks are added).
    pub fn new(entries: usize) -> Self {
        MaskCounter {
            entries,
            index: HashMap::new(),
            counts: Vec::new(),
            rows: 0,
            key: Vec::with_capacity(entries.div_ceil(8)),
        }
    }

    /// Adds one mask given as consecutive parts whose lengths sum to the counter's `entries`.
    /// Errors: [`MaskError::NotBinary`] for an entry other than 0 or 1 (the mask is not
    /// counted), [`MaskError::WrongLength`] when the parts hold another number of entries.
    pub fn add_parts(&mut self, parts: &[&[u8]]) -> Result<(), MaskError> {
        let row = self.rows;
        let found: usize = parts.iter().map(|p| p.len()).sum();
        if found != self.entries {
            return Err(MaskError::WrongLength {
                row,
                found: found as u64,
                expected: self.entries as u64,
            });
        }
        self.key.clear();
        let (mut byte, mut bit, mut entry) = (0u8, 0u32, 0u64);
        for part in parts {
            for &value in *part {
                if value > 1 {
                    return Err(MaskError::NotBinary { row, entry, value });
                }
                byte |= value << bit;
                bit += 1;
                entry += 1;
                if bit == 8 {
                    self.key.push(byte);
                    (byte, bit) = (0, 0);
                }
            }
        }
        if bit > 0 {
            self.key.push(byte);
        }
        match self.index.get(self.key.as_slice()) {
            Some(&j) => self.counts[j] += 1,
            None => {
                self.index
                    .insert(self.key.clone().into_boxed_slice(), self.counts.len());
                self.counts.push(1);
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Adds one mask held in one slice (see [`MaskCounter::add_parts`]).
    pub fn add(&mut self, mask: &[u8]) -> Result<(), MaskError> {
        self.add_parts(&[mask])
    }

    /// The count of each distinct mask, in order of first appearance; [`MaskError::NoMasks`]
    /// when none was added.
    pub fn counts(self) -> Result<Vec<u64>, MaskError> {
        if self.rows == 0 {
            return Err(MaskError::NoMasks);
        }
        Ok(self.counts)
    }
}

/// The counts of distinct rows of the `rows × entries` matrix `data` (C order, entries 0 or 1),
/// in order of first appearance. Errors: those of [`check_size`] and
/// [`MaskCounter::add_parts`], and [`MaskError::WrongLength`] when `data` is not
/// `rows · entries` bytes long.
pub fn count_masks(data: &[u8], rows: usize, entries: usize) -> Result<Vec<u64>, MaskError> {
    check_size(rows as u64, entries as u64)?;
    if data.len() != rows * entries {
        return Err(MaskError::WrongLength {
            row: (data.len() / entries) as u64,
            found: (data.len() % entries) as u64,
            expected: entries as u64,
        });
    }
    let mut counter = MaskCounter::new(entries);
    for row in data.chunks_exact(entries) {
        counter.add(row)?;
    }
    counter.counts()
}

/// The masks of a `.npy` file: `rows × entries` bytes in C order, borrowed from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NpyMasks<'a> {
    /// Number of masks `N`.
    pub rows: usize,
    /// Entries per mask `p`.
    pub entries: usize,
    /// The `N·p` entries, row after row.
    pub data: &'a [u8],
}

impl NpyMasks<'_> {
    /// The counts of distinct masks ([`count_masks`]).
    pub fn counts(&self) -> Result<Vec<u64>, MaskError> {
        count_masks(self.data, self.rows, self.entries)
    }
}

/// Reads a `.npy` file of masks: format 1.0, 2.0 or 3.0, dtype `|b1` (bool) or `|u1` (uint8),
/// C order, shape `(N, p)` with `N, p ≥ 1` and `N·p ≤` [`MAX_MASK_ENTRIES`], exactly `N·p` data
/// bytes after the header. The entries are checked to be 0 or 1 when counted
/// ([`NpyMasks::counts`]). Errors are the reader's [`MaskError`] variants (see the module doc).
pub fn parse_npy_masks(bytes: &[u8]) -> Result<NpyMasks<'_>, MaskError> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    let remain = |from: usize| bytes.len().saturating_sub(from) as u64;
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(MaskError::NotNpy);
    }
    if bytes.len() < 8 {
        return Err(MaskError::Truncated {
            what: "the version",
            needed: 2,
            found: remain(6),
        });
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let width = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => return Err(MaskError::Version { major, minor }),
    };
    if bytes.len() < 8 + width {
        return Err(MaskError::Truncated {
            what: "the header length",
            needed: width as u64,
            found: remain(8),
        });
    }
    let length = bytes[8..8 + width]
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | b as u64);
    if length > MAX_NPY_HEADER_BYTES as u64 {
        return Err(MaskError::HeaderTooLong { length });
    }
    let start = 8 + width;
    let end = start + length as usize;
    if bytes.len() < end {
        return Err(MaskError::Truncated {
            what: "the header",
            needed: length,
            found: remain(start),
        });
    }
    let header = std::str::from_utf8(&bytes[start..end])
        .map_err(|e| MaskError::BadHeader(format!("not UTF-8 text (byte {})", e.valid_up_to())))?;
    let header = Header::parse(header)?;
    if header.descr != "|b1" && header.descr != "|u1" {
        return Err(MaskError::Dtype {
            descr: header.descr,
        });
    }
    if header.fortran_order {
        return Err(MaskError::FortranOrder);
    }
    let [rows, entries] = header.shape[..] else {
        return Err(MaskError::Shape {
            shape: python_tuple(&header.shape),
        });
    };
    check_size(rows, entries)?;
    let expected = rows * entries;
    let found = remain(end);
    if found < expected {
        return Err(MaskError::Truncated {
            what: "the data",
            needed: expected,
            found,
        });
    }
    if found > expected {
        return Err(MaskError::TrailingBytes {
            extra: found - expected,
            expected,
        });
    }
    Ok(NpyMasks {
        rows: rows as usize,
        entries: entries as usize,
        data: &bytes[end..],
    })
}

/// A shape as Python writes a tuple: `()`, `(5,)`, `(2, 3, 4)`.
fn python_tuple(shape: &[u64]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => {
            let items: Vec<String> = shape.iter().map(u64::to_string).collect();
            format!("({})", items.join(", "))
        }
    }
}

/// The three keys of a `.npy` header.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// One value of the header dictionary.
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
}

/// A parser of the Python literal NumPy writes as the header: a dict of string keys whose values
/// are strings, `True`/`False`, or tuples of non-negative integers.
struct Literal<'a> {
    text: &'a [u8],
    at: usize,
}

impl Literal<'_> {
    fn bad(&self, what: &str) -> MaskError {
        MaskError::BadHeader(format!("{what} at byte {}", self.at))
    }

    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.at).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), MaskError> {
        if self.peek() != Some(c) {
            return Err(self.bad(&format!("expected '{}'", c as char)));
        }
        self.at += 1;
        Ok(())
    }

    fn string(&mut self) -> Result<String, MaskError> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.bad("expected a quoted string")),
        };
        self.at += 1;
        let begin = self.at;
        while let Some(&c) = self.text.get(self.at) {
            if c == quote {
                let s = String::from_utf8_lossy(&self.text[begin..self.at]).into_owned();
                self.at += 1;
                return Ok(s);
            }
            if c == b'\\' {
                return Err(self.bad("escape sequences are not supported in strings"));
            }
            self.at += 1;
        }
        Err(self.bad("unterminated string"))
    }

    fn integer(&mut self) -> Result<u64, MaskError> {
        self.skip_space();
        let begin = self.at;
        while self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let digits = std::str::from_utf8(&self.text[begin..self.at]).unwrap_or("");
        if digits.is_empty() {
            return Err(self.bad("expected a non-negative integer"));
        }
        // NumPy may write a trailing `L` on Python 2; never for version 3 files, accepted anyway.
        if self.text.get(self.at) == Some(&b'L') {
            self.at += 1;
        }
        digits
            .parse()
            .map_err(|_| MaskError::BadHeader(format!("shape entry {digits} is too large")))
    }

    fn value(&mut self) -> Result<Value, MaskError> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(Value::Str(self.string()?)),
            Some(b'(') => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(b')') {
                        self.at += 1;
                        return Ok(Value::Tuple(items));
                    }
                    items.push(self.integer()?);
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b')') => {}
                        _ => return Err(self.bad("expected ',' or ')' in the shape")),
                    }
                }
            }
            _ => {
                for (word, value) in [("True", true), ("False", false)] {
                    if self.text[self.at..].starts_with(word.as_bytes()) {
                        self.at += word.len();
                        return Ok(Value::Bool(value));
                    }
                }
                Err(self.bad("expected a string, True, False or a tuple"))
            }
        }
    }
}

impl Header {
    fn parse(text: &str) -> Result<Header, MaskError> {
        let mut p = Literal {
            text: text.as_bytes(),
            at: 0,
        };
        p.expect(b'{')?;
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        loop {
            if p.peek() == Some(b'}') {
                p.at += 1;
                break;
            }
            let key = p.string()?;
            p.expect(b':')?;
            let value = p.value()?;
            let duplicate = || MaskError::BadHeader(format!("key '{key}' appears twice"));
            match (key.as_str(), value) {
                ("descr", Value::Str(s)) => {
                    if descr.replace(s).is_some() {
                        return Err(duplicate());
                    }
                }
                ("fortran_order", Value::Bool(b)) => {
                    if fortran_order.replace(b).is_some() {
                        return Err(duplicate());
                    }
                }
                ("shape", Value::Tuple(t)) => {
                    if shape.replace(t).is_some() {
                        return Err(duplicate());
                    }
                }
                ("descr" | "fortran_order" | "shape", _) => {
                    return Err(MaskError::BadHeader(format!(
                        "key '{key}' has a value of the wrong type"
                    )))
                }
                _ => {
                    return Err(MaskError::BadHeader(format!(
                        "unexpected key '{key}' (expected descr, fortran_order, shape)"
                    )))
                }
            }
            match p.peek() {
                Some(b',') => p.at += 1,
                Some(b'}') => {}
                _ => return Err(p.bad("expected ',' or '}'")),
            }
        }
        if p.peek().is_some() {
            return Err(p.bad("text after the dictionary"));
        }
        let missing = |key: &str| MaskError::BadHeader(format!("key '{key}' is missing"));
        Ok(Header {
            descr: descr.ok_or_else(|| missing("descr"))?,
            fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
            shape: shape.ok_or_else(|| missing("shape"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.npy` file as NumPy 1.x/2.x writes it: the header padded with spaces to a multiple of
    /// 64 bytes (16 in older versions) and ended by a newline.
    fn npy(version: u8, header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = b"\x93NUMPY".to_vec();
        out.extend_from_slice(&[version, 0]);
        let width = if version == 1 { 2 } else { 4 };
        let mut header = header.to_string();
        while !(8 + width + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        if version == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn counts_rows_in_first_appearance_order() {
        let data = [
            0, 1, 1, /**/ 1, 1, 0, /**/ 0, 1, 1, /**/ 0, 1, 1,
        ];
        assert_eq!(count_masks(&data, 4, 3).unwrap(), vec![3, 1]);
        // more than 8 entries: the packed key spans bytes; entry 9 alone tells rows apart
        let mut data = vec![1u8; 20];
        data[10 + 9] = 0;
        assert_eq!(count_masks(&data, 2, 10).unwrap(), vec![1, 1]);
        // parts are one mask
        let mut c = MaskCounter::new(5);
        c.add_parts(&[&[1, 0], &[0, 1, 1]]).unwrap();
        c.add(&[1, 0, 0, 1, 1]).unwrap();
        c.add_parts(&[&[1, 0, 0], &[], &[1, 0]]).unwrap();
        assert_eq!(c.counts().unwrap(), vec![2, 1]);
    }

    #[test]
    fn reads_every_version_and_both_dtypes() {
        let data = [1, 0, 1, 0, 0, 1];
        for version in [1, 2, 3] {
            for descr in ["|b1", "|u1"] {
                let header =
                    format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (3, 2), }}");
                let file = npy(version, &header, &data);
                let m = parse_npy_masks(&file).unwrap();
                assert_eq!((m.rows, m.entries, m.data), (3, 2, &data[..]));
                assert_eq!(m.counts().unwrap(), vec![2, 1]);
            }
        }
        // key order and quotes as other writers produce them
        let file = npy(
            1,
            "{\"shape\": (1,2), \"fortran_order\": False, \"descr\": \"|u1\"}",
            &[0, 1],
        );
        assert_eq!(parse_npy_masks(&file).unwrap().counts().unwrap(), vec![1]);
    }

    #[test]
    fn error_messages() {
        let ok = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }";
        let good = npy(1, ok, &[0, 1, 1, 0]);
        let header = |h: &str, data: &[u8]| npy(1, h, data);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"PK\x03\x04".to_vec(), "not a .npy file (it does not start with \\x93NUMPY)"),
            (npy(4, ok, &[0, 1, 1, 0]).into_iter().collect(), ".npy format version 4.0 is not supported (1.0, 2.0 and 3.0 are)"),
            (good[..9].to_vec(), "truncated .npy file: the header length needs 2 bytes, 1 remain"),
            (good[..40].to_vec(), "truncated .npy file: the header needs 118 bytes, 30 remain"),
            (good[..good.len() - 1].to_vec(), "truncated .npy file: the data needs 4 bytes, 3 remain"),
            ([&good[..], &[0]].concat(), ".npy file has 1 bytes after the 4 data bytes its shape gives"),
            (header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", &[0; 4]), "dtype '<f4' is not a mask dtype: expected '|b1' (bool) or '|u1' (uint8)"),
            (header("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }", &[0; 4]), "the array is stored in Fortran order (fortran_order: True); save it in C order, e.g. np.save(path, np.ascontiguousarray(masks))"),
            (header("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", &[0; 4]), "expected a 2-D array of N masks × p entries, got shape (4,)"),
            (header("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2), }", &[0; 4]), "expected a 2-D array of N masks × p entries, got shape (1, 2, 2)"),
            (header("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 4), }", &[]), "no masks: the input holds 0 masks"),
            (header("{'descr': '|u1', 'fortran_order': False, 'shape': (65536, 65537), }", &[]), "65536 masks of 65537 entries are above peff's limit of 2^32 = 4294967296 entries in all"),
            (header("{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999, 1), }", &[]), "malformed .npy header: shape entry 99999999999999999999 is too large"),
            (header("{'descr': '|u1', 'shape': (2, 2), }", &[0; 4]), "malformed .npy header: key 'fortran_order' is missing"),
            (header("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), 'extra': 1}", &[0; 4]), "malformed .npy header: expected a string, True, False or a tuple at byte 67"),
            (header("{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (2, 2)}", &[0; 4]), "malformed .npy header: key 'descr' appears twice"),
            (header("{'descr': 1}", &[]), "malformed .npy header: expected a string, True, False or a tuple at byte 10"),
        ];
        for (bytes, want) in cases {
            let err = parse_npy_masks(&bytes).unwrap_err();
            assert_eq!(err.to_string(), want);
        }
        let mut long = b"\x93NUMPY\x02\x00".to_vec();
        long.extend_from_slice(&(1u32 << 20).to_le_bytes());
        assert_eq!(
            parse_npy_masks(&long).unwrap_err().to_string(),
            ".npy header of 1048576 bytes is above peff's limit of 65536 bytes"
        );
        let file = npy(1, ok, &[0, 1, 2, 0]);
        assert_eq!(
            parse_npy_masks(&file)
                .unwrap()
                .counts()
                .unwrap_err()
                .to_string(),
            "mask 1, entry 0: value 2 is not 0 or 1"
        );
        let mut c = MaskCounter::new(3);
        assert_eq!(
            c.add(&[1, 0]).unwrap_err().to_string(),
            "mask 0 has 2 entries, mask 0 has 3"
        );
        assert_eq!(c.counts(), Err(MaskError::NoMasks));
        assert_eq!(check_size(3, 0), Err(MaskError::NoEntries));
    }

    /// Every prefix of a valid file, and every single-byte corruption of its header, is an
    /// error or a valid parse, never a panic.
    #[test]
    fn never_panics_on_damaged_files() {
        let file = npy(
            1,
            "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 3), }",
            &[1, 0, 1, 1, 0, 1],
        );
        for cut in 0..file.len() {
            assert!(parse_npy_masks(&file[..cut]).is_err(), "prefix {cut}");
        }
        for at in 0..file.len() {
            for byte in [0u8, b'(', b')', b'\'', b'9', 0xff] {
                let mut damaged = file.clone();
                damaged[at] = byte;
                if let Ok(m) = parse_npy_masks(&damaged) {
                    let _ = m.counts();
                }
            }
        }
    }
}
