//! IDX files (the MNIST / FashionMNIST format), raw or gzipped, and the FashionMNIST training
//! set read from a directory (SPEC §7 "Noisy images", the paper's Fig. 1b).
//!
//! ```text
//! file   = magic (u32, big-endian) · dims (u32 big-endian each) · data (u8, row-major)
//! images: magic 0x00000803 (u8 data, 3 dims): count, rows, cols;  count·rows·cols bytes
//! labels: magic 0x00000801 (u8 data, 1 dim):  count;              count bytes, each < 10
//! ```
//!
//! A file is read whole and must have exactly the bytes its header announces (fewer is
//! *truncated*, more is *trailing data*); `.gz` files are decompressed with `flate2`, reading at
//! most [`MAX_DATA_BYTES`] plus the header so that a malicious archive cannot exhaust memory.
//! Counts and sizes are capped ([`MAX_COUNT`], [`MAX_SIDE`]). The images and labels of a set
//! must have the same count. Every error is one line naming the file.
//!
//! FashionMNIST (Xiao, Rasul & Vollgraf 2017) is distributed as four files,
//! `train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`,
//! `t10k-labels-idx1-ubyte.gz`, in the `data/fashion` directory of the
//! `zalandoresearch/fashion-mnist` GitHub repository; Debian's `dataset-fashion-mnist` package
//! installs them in [`DEBIAN_FASHION_MNIST_DIR`]. Memorisation needs only the training pair;
//! [`load_fashion_mnist_train`] looks for each raw or with `.gz` (refusing a directory that holds
//! both, so that which one was read is never in doubt) and records each file's path and the
//! SHA-256 of its decompressed bytes ([`DataFile`]).

use std::io::Read;
use std::path::{Path, PathBuf};

/// Magic number of an image file (unsigned bytes, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of a label file (unsigned bytes, 1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Most items (images or labels) a file may announce.
pub const MAX_COUNT: u32 = 10_000_000;
/// Largest image side (rows or columns).
pub const MAX_SIDE: u32 = 4096;
/// Most data bytes a file may hold (1 GiB).
pub const MAX_DATA_BYTES: u64 = 1 << 30;
/// Number of FashionMNIST classes; every label must be below it.
pub const CLASSES: u8 = 10;
/// File names of the FashionMNIST training images and labels (each raw or with `.gz`).
pub const TRAIN_FILES: [&str; 2] = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"];
/// Where Debian's `dataset-fashion-mnist` package puts the four gzipped files.
pub const DEBIAN_FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Why an IDX file or directory could not be read. Every message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdxError {
    /// The file could not be opened or read.
    #[error("'{path}': cannot read: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// Not a gzip stream although the name ends in `.gz`, or a corrupt one.
    #[error("'{path}': invalid gzip data: {reason}")]
    Gzip {
        /// The file.
        path: String,
        /// The decoder's reason.
        reason: String,
    },
    /// Wrong magic number.
    #[error(
        "'{path}': wrong magic number 0x{got:08x} (expected 0x{expected:08x}, an IDX {what} file)"
    )]
    Magic {
        /// The file.
        path: String,
        /// Found.
        got: u32,
        /// Expected.
        expected: u32,
        /// `images` or `labels`.
        what: &'static str,
    },
    /// Fewer bytes than the header announces (or no complete header).
    #[error("'{path}': truncated: expected {expected} bytes, found {got}")]
    Truncated {
        /// The file.
        path: String,
        /// Bytes the header announces (header included).
        expected: u64,
        /// Bytes found.
        got: u64,
    },
    /// More bytes than the header announces.
    #[error("'{path}': {extra} bytes of trailing data after the {expected} the header announces")]
    Trailing {
        /// The file.
        path: String,
        /// Bytes the header announces.
        expected: u64,
        /// Bytes beyond them.
        extra: u64,
    },
    /// A dimension of 0 or above its cap.
    #[error("'{path}': {what} = {value} is outside [1, {max}]")]
    Dimension {
        /// The file.
        path: String,
        /// Which dimension.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The cap.
        max: u64,
    },
    /// Images and labels of different counts.
    #[error("dimension mismatch: '{images}' has {image_count} images but '{labels}' has {label_count} labels")]
    CountMismatch {
        /// The image file.
        images: String,
        /// Its count.
        image_count: usize,
        /// The label file.
        labels: String,
        /// Its count.
        label_count: usize,
    },
    /// A label outside `0..10`.
    #[error("'{path}': label {label} at index {index} is out of range (expected 0..{classes})")]
    Label {
        /// The file.
        path: String,
        /// Position of the label.
        index: usize,
        /// The label.
        label: u8,
        /// Number of classes.
        classes: u8,
    },
    /// `--data` is not a directory (missing, a file, or a dangling link).
    #[error("'{dir}' {what}")]
    NotADirectory {
        /// The path.
        dir: String,
        /// What it is instead ([`super::not_a_directory`]).
        what: String,
    },
    /// Both the raw file and its `.gz` exist, so which one is read would be a guess.
    #[error(
        "'{dir}' holds both {name} and {name}.gz; remove one so that the data read is unambiguous"
    )]
    Ambiguous {
        /// The directory.
        dir: String,
        /// The file name (without `.gz`).
        name: &'static str,
    },
    /// A directory without the expected file.
    #[error("'{dir}' has no {name} (nor {name}.gz); install Debian's dataset-fashion-mnist package, or download {name}.gz from the data/fashion directory of github.com/zalandoresearch/fashion-mnist into a directory given as `--data DIR`")]
    Missing {
        /// The directory.
        dir: String,
        /// The expected file name (without `.gz`).
        name: &'static str,
    },
}

/// An IDX image file: `count` images of `rows × cols` bytes, row-major, image after image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count · rows · cols` pixel bytes.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Pixels per image, `rows · cols`.
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }
}

/// A labelled image set (images and labels of equal count, labels `< 10`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelledImages {
    /// The images.
    pub images: IdxImages,
    /// One label per image.
    pub labels: Vec<u8>,
    /// The files read (images, then labels).
    pub files: Vec<DataFile>,
}

/// A data file as read: its path and the SHA-256 of its (decompressed) contents, recorded in
/// result files so that a result names exactly the data it came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataFile {
    /// The path as given (`--data DIR` joined with the file name).
    pub path: String,
    /// SHA-256 (lower-case hex) of the decompressed bytes.
    pub sha256: String,
}

impl DataFile {
    /// The record of `bytes` read from `path`.
    pub fn of(path: &Path, bytes: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        DataFile {
            path: path.display().to_string(),
            sha256: format!("{:x}", Sha256::digest(bytes)),
        }
    }

    /// Re-reads the file and checks its digest; the error names the path and both digests.
    pub fn check(&self) -> Result<(), String> {
        let bytes = read_file(Path::new(&self.path)).map_err(|e| e.to_string())?;
        let now = DataFile::of(Path::new(&self.path), &bytes);
        if now.sha256 == self.sha256 {
            Ok(())
        } else {
            Err(format!(
                "'{}' has SHA-256 {} now, {} when the result was computed",
                self.path, now.sha256, self.sha256
            ))
        }
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Checks magic, dimensions and length of an IDX file's bytes; returns the dimensions and the
/// data after the header.
fn parse<'a>(
    path: &str,
    bytes: &'a [u8],
    magic: u32,
    what: &'static str,
    dim_names: &[&'static str],
) -> Result<(Vec<usize>, &'a [u8]), IdxError> {
    let header = 4 + 4 * dim_names.len();
    if bytes.len() < 4 {
        return Err(IdxError::Truncated {
            path: path.to_string(),
            expected: header as u64,
            got: bytes.len() as u64,
        });
    }
    let got = be_u32(bytes, 0);
    if got != magic {
        return Err(IdxError::Magic {
            path: path.to_string(),
            got,
            expected: magic,
            what,
        });
    }
    if bytes.len() < header {
        return Err(IdxError::Truncated {
            path: path.to_string(),
            expected: header as u64,
            got: bytes.len() as u64,
        });
    }
    let mut dims = Vec::with_capacity(dim_names.len());
    let mut size: u64 = 1;
    for (i, &name) in dim_names.iter().enumerate() {
        let value = be_u32(bytes, 4 + 4 * i);
        let max = if i == 0 { MAX_COUNT } else { MAX_SIDE };
        if value == 0 || value > max {
            return Err(IdxError::Dimension {
                path: path.to_string(),
                what: name,
                value: value as u64,
                max: max as u64,
            });
        }
        size *= value as u64;
        dims.push(value as usize);
    }
    if size > MAX_DATA_BYTES {
        return Err(IdxError::Dimension {
            path: path.to_string(),
            what: "data size",
            value: size,
            max: MAX_DATA_BYTES,
        });
    }
    let expected = header as u64 + size;
    let len = bytes.len() as u64;
    if len < expected {
        return Err(IdxError::Truncated {
            path: path.to_string(),
            expected,
            got: len,
        });
    }
    if len > expected {
        return Err(IdxError::Trailing {
            path: path.to_string(),
            expected,
            extra: len - expected,
        });
    }
    Ok((dims, &bytes[header..]))
}

/// Parses the bytes of an IDX image file (`path` names it in errors).
pub fn parse_images(path: &str, bytes: &[u8]) -> Result<IdxImages, IdxError> {
    let (dims, data) = parse(
        path,
        bytes,
        IMAGES_MAGIC,
        "images",
        &["image count", "rows", "columns"],
    )?;
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels: data.to_vec(),
    })
}

/// Parses the bytes of an IDX label file; every label must be `< 10`.
pub fn parse_labels(path: &str, bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let (_, data) = parse(path, bytes, LABELS_MAGIC, "labels", &["label count"])?;
    if let Some((index, &label)) = data.iter().enumerate().find(|(_, &l)| l >= CLASSES) {
        return Err(IdxError::Label {
            path: path.to_string(),
            index,
            label,
            classes: CLASSES,
        });
    }
    Ok(data.to_vec())
}

/// Reads a file whole, decompressing it when its name ends in `.gz` (at most the largest valid
/// IDX file plus one byte is decompressed, so an oversized archive fails as trailing data).
pub fn read_file(path: &Path) -> Result<Vec<u8>, IdxError> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| IdxError::Io {
        path: shown.clone(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let limit = MAX_DATA_BYTES + 16 + 1;
    let mut bytes = Vec::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file)
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| IdxError::Gzip {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
    } else {
        file.take(limit).read_to_end(&mut bytes).map_err(io)?;
    }
    Ok(bytes)
}

/// `dir/name`, or `dir/name.gz`; an error when neither or both exist.
fn find(dir: &Path, name: &'static str) -> Result<PathBuf, IdxError> {
    let raw = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    match (raw.is_file(), gz.is_file()) {
        (true, false) => return Ok(raw),
        (false, true) => return Ok(gz),
        (true, true) => {
            return Err(IdxError::Ambiguous {
                dir: dir.display().to_string(),
                name,
            })
        }
        (false, false) => {}
    }
    Err(IdxError::Missing {
        dir: dir.display().to_string(),
        name,
    })
}

/// The FashionMNIST training set from `dir`: [`TRAIN_FILES`], each raw or gzipped.
pub fn load_fashion_mnist_train(dir: &Path) -> Result<LabelledImages, IdxError> {
    if let Some(what) = super::not_a_directory(dir) {
        return Err(IdxError::NotADirectory {
            dir: dir.display().to_string(),
            what,
        });
    }
    let images_path = find(dir, TRAIN_FILES[0])?;
    let labels_path = find(dir, TRAIN_FILES[1])?;
    let images_name = images_path.display().to_string();
    let labels_name = labels_path.display().to_string();
    let image_bytes = read_file(&images_path)?;
    let label_bytes = read_file(&labels_path)?;
    let files = vec![
        DataFile::of(&images_path, &image_bytes),
        DataFile::of(&labels_path, &label_bytes),
    ];
    let images = parse_images(&images_name, &image_bytes)?;
    drop(image_bytes);
    let labels = parse_labels(&labels_name, &label_bytes)?;
    if images.count != labels.len() {
        return Err(IdxError::CountMismatch {
            images: images_name,
            image_count: images.count,
            labels: labels_name,
            label_count: labels.len(),
        });
    }
    Ok(LabelledImages {
        images,
        labels,
        files,
    })
}

/// The bytes of an IDX image file (for tests and tools that write small sets).
pub fn encode_images(rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let count = pixels.len() / (rows * cols).max(1);
    let mut out = Vec::with_capacity(16 + pixels.len());
    for v in [IMAGES_MAGIC, count as u32, rows as u32, cols as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// The bytes of an IDX label file.
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    for v in [LABELS_MAGIC, labels.len() as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors_on_bytes() {
        let pixels: Vec<u8> = (0..2 * 3 * 4).map(|v| v as u8).collect();
        let img = parse_images("x", &encode_images(3, 4, &pixels)).unwrap();
        assert_eq!((img.count, img.rows, img.cols), (2, 3, 4));
        assert_eq!(img.pixels, pixels);
        assert_eq!(
            parse_labels("y", &encode_labels(&[0, 9, 3])).unwrap(),
            vec![0, 9, 3]
        );
        let mut bad = encode_images(3, 4, &pixels);
        bad.pop();
        assert!(matches!(
            parse_images("x", &bad),
            Err(IdxError::Truncated { .. })
        ));
        bad.extend_from_slice(&[0, 0]);
        assert!(matches!(
            parse_images("x", &bad),
            Err(IdxError::Trailing { extra: 1, .. })
        ));
        assert!(matches!(
            parse_images("x", &encode_labels(&[1])),
            Err(IdxError::Magic { .. })
        ));
        assert!(matches!(
            parse_labels("y", &encode_labels(&[1, 10])),
            Err(IdxError::Label {
                index: 1,
                label: 10,
                ..
            })
        ));
        assert!(matches!(
            parse_images("x", &[0, 0, 8]),
            Err(IdxError::Truncated { .. })
        ));
        let mut zero = encode_images(3, 4, &pixels);
        zero[8..12].copy_from_slice(&0u32.to_be_bytes());
        assert!(matches!(
            parse_images("x", &zero),
            Err(IdxError::Dimension { what: "rows", .. })
        ));
        let mut huge = encode_images(3, 4, &pixels);
        huge[4..8].copy_from_slice(&MAX_COUNT.to_be_bytes());
        huge[8..12].copy_from_slice(&MAX_SIDE.to_be_bytes());
        assert!(matches!(
            parse_images("x", &huge),
            Err(IdxError::Dimension {
                what: "data size",
                ..
            })
        ));
    }
}
