//! The CIFAR-10 training set from its binary files (SPEC §7 "ConvNet", the paper's Fig. 1c).
//!
//! ```text
//! dir/data_batch_1.bin … data_batch_5.bin:  10,000 records each, 3,073 bytes per record
//! record = label (u8, 0..=9) · red (1,024 u8) · green (1,024 u8) · blue (1,024 u8)
//!          each colour plane 32 × 32, row-major
//! x[i, c, y, x] = byte / 255  (f32, point-major C × H × W = 3 × 32 × 32, PyTorch's ToTensor)
//! ```
//!
//! The record's pixel bytes are already in PyTorch's `C, H, W` order, so image `i` is its 3,072
//! bytes scaled. [`load_cifar10_train`] reads the first `train_size` images in file order
//! (`data_batch_1` first), reading only the files it needs; [`load_cifar10_images`] reads all
//! 50,000 as bytes (an [`ImageSet`], each file's SHA-256 recorded). Every file read must be
//! exactly 10,000 records long. Every error is one line
//! naming the file. The files are those of the "CIFAR-10 binary version" archive
//! (`cifar-10-binary.tar.gz`, directory `cifar-10-batches-bin`) from
//! <https://www.cs.toronto.edu/~kriz/cifar.html>.
//!
//! ## References
//! Krizhevsky 2009, "Learning multiple layers of features from tiny images".

use std::io::Read;
use std::path::Path;

use super::idx::DataFile;
use super::images::ImageSet;

/// Image shape `[C, H, W]`.
pub const SHAPE: [usize; 3] = [3, 32, 32];
/// Number of classes; every label must be below it.
pub const CLASSES: u8 = 10;
/// Bytes per record: a label byte and `3 · 32 · 32` pixel bytes.
pub const RECORD_BYTES: usize = 1 + 3 * 32 * 32;
/// Records per training file.
pub const RECORDS_PER_FILE: usize = 10_000;
/// The training files, in the order their images are read.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];

/// Why the CIFAR-10 training set could not be read. Every message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CifarError {
    /// The image buffer could not be allocated.
    #[error(transparent)]
    OutOfMemory(#[from] crate::memory::OutOfMemory),
    /// `--data` is not a directory (missing, a file, or a dangling link).
    #[error("'{dir}' {what}")]
    NotADirectory {
        /// The path.
        dir: String,
        /// What it is instead ([`super::not_a_directory`]).
        what: String,
    },
    /// A needed file is absent.
    #[error("'{dir}' has no {name}; extract cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and pass its cifar-10-batches-bin directory")]
    Missing {
        /// The directory.
        dir: String,
        /// The file name.
        name: &'static str,
    },
    /// A file could not be opened or read.
    #[error("'{path}': cannot read: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A file whose length is not a whole number of records: its last record is cut short.
    #[error("'{path}': truncated record: {bytes} bytes is {records} records of {record_bytes} and {extra} bytes more")]
    TruncatedRecord {
        /// The file.
        path: String,
        /// The file's length.
        bytes: u64,
        /// Whole records in it.
        records: u64,
        /// Bytes per record.
        record_bytes: usize,
        /// Bytes of the incomplete last record.
        extra: u64,
    },
    /// A file of whole records, but not of the expected number.
    #[error("'{path}': wrong file size: {records} records ({bytes} bytes), expected {expected} records ({expected_bytes} bytes)")]
    Size {
        /// The file.
        path: String,
        /// The file's length.
        bytes: u64,
        /// Records in it.
        records: u64,
        /// Records expected.
        expected: usize,
        /// Bytes expected.
        expected_bytes: u64,
    },
    /// A label outside `0..10`.
    #[error("'{path}': label {label} of record {index} is out of range (expected 0..{classes})")]
    Label {
        /// The file.
        path: String,
        /// Position of the record in its file.
        index: usize,
        /// The label.
        label: u8,
        /// Number of classes.
        classes: u8,
    },
    /// More images asked for than the training set has, or none.
    #[error("the CIFAR-10 training set has {available} images; asked for {requested} (need 1..={available})")]
    TrainSize {
        /// Images asked for.
        requested: usize,
        /// Images in the training set.
        available: usize,
    },
}

/// The first `train_size` CIFAR-10 training images from `dir` ([`TRAIN_FILES`], module docs):
/// `(x, labels)` with `x` point-major `3 × 32 × 32` values in `[0, 1]` per image and one label
/// in `0..10` per image.
///
/// # Errors
/// [`CifarError`]: `train_size` outside `1..=50,000`, a needed file missing or unreadable, of
/// a length that is not 10,000 whole records, or holding a label above 9.
///
/// # Example
/// ```no_run
/// # use peff::data::cifar::load_cifar10_train;
/// let (x, labels) = load_cifar10_train("cifar-10-batches-bin".as_ref(), 2_000)?;
/// assert_eq!((x.len(), labels.len()), (2_000 * 3 * 32 * 32, 2_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_cifar10_train(
    dir: &Path,
    train_size: usize,
) -> Result<(Vec<f32>, Vec<usize>), CifarError> {
    read_records(dir, train_size, RECORDS_PER_FILE)
}

/// The whole CIFAR-10 training set from `dir` (all of [`TRAIN_FILES`], 50,000 images of
/// `3 × 32 × 32` bytes), with each file's SHA-256 recorded.
///
/// # Errors
/// As [`load_cifar10_train`].
pub fn load_cifar10_images(dir: &Path) -> Result<ImageSet, CifarError> {
    read_images(dir, RECORDS_PER_FILE * TRAIN_FILES.len(), RECORDS_PER_FILE)
}

/// [`load_cifar10_train`] with `per_file` records per file (tests use small files).
fn read_records(
    dir: &Path,
    train_size: usize,
    per_file: usize,
) -> Result<(Vec<f32>, Vec<usize>), CifarError> {
    let set = read_images(dir, train_size, per_file)?;
    let x = set.pixels.iter().map(|&b| f32::from(b) / 255.0).collect();
    let labels = set.labels.iter().map(|&l| usize::from(l)).collect();
    Ok((x, labels))
}

/// The first `train_size` images of files of `per_file` records, as bytes; only the files
/// needed are read (each whole, and checked whole).
fn read_images(dir: &Path, train_size: usize, per_file: usize) -> Result<ImageSet, CifarError> {
    let available = per_file * TRAIN_FILES.len();
    if train_size == 0 || train_size > available {
        return Err(CifarError::TrainSize {
            requested: train_size,
            available,
        });
    }
    if let Some(what) = super::not_a_directory(dir) {
        return Err(CifarError::NotADirectory {
            dir: dir.display().to_string(),
            what,
        });
    }
    let pixels = RECORD_BYTES - 1;
    let mut set = ImageSet {
        shape: SHAPE,
        // The largest buffer of a CIFAR-10 run, shared by its seeds: allocated fallibly.
        pixels: crate::memory::try_with_capacity(
            train_size * pixels,
            "the CIFAR-10 image set",
            "raise the memory limit: every run holds the whole training set",
        )?,
        labels: Vec::with_capacity(train_size),
        files: Vec::new(),
    };
    for name in TRAIN_FILES {
        let wanted = (train_size - set.labels.len()).min(per_file);
        if wanted == 0 {
            break;
        }
        let path = dir.join(name);
        if !path.is_file() {
            return Err(CifarError::Missing {
                dir: dir.display().to_string(),
                name,
            });
        }
        let shown = path.display().to_string();
        let io = |e: std::io::Error| CifarError::Io {
            path: shown.clone(),
            reason: e.to_string(),
        };
        let mut file = std::fs::File::open(&path).map_err(io)?;
        let bytes = file.metadata().map_err(io)?.len();
        let (records, extra) = (bytes / RECORD_BYTES as u64, bytes % RECORD_BYTES as u64);
        if extra != 0 {
            return Err(CifarError::TruncatedRecord {
                path: shown,
                bytes,
                records,
                record_bytes: RECORD_BYTES,
                extra,
            });
        }
        if records != per_file as u64 {
            return Err(CifarError::Size {
                path: shown,
                bytes,
                records,
                expected: per_file,
                expected_bytes: (per_file * RECORD_BYTES) as u64,
            });
        }
        let mut contents = Vec::with_capacity(bytes as usize);
        file.read_to_end(&mut contents).map_err(io)?;
        if contents.len() as u64 != bytes {
            return Err(io(std::io::Error::other(
                "the file changed while it was read",
            )));
        }
        for (index, record) in contents.chunks_exact(RECORD_BYTES).take(wanted).enumerate() {
            let label = record[0];
            if label >= CLASSES {
                return Err(CifarError::Label {
                    path: shown,
                    index,
                    label,
                    classes: CLASSES,
                });
            }
            set.labels.push(label);
            set.pixels.extend_from_slice(&record[1..]);
        }
        set.files.push(DataFile::of(&path, &contents));
    }
    Ok(set)
}

/// The bytes of a CIFAR-10 binary file holding `labels.len()` records (for tests and tools
/// that write small sets); `pixels` holds `3 · 32 · 32` bytes per record, `C, H, W` order.
///
/// # Panics
/// If `pixels` does not hold exactly one image per label.
pub fn encode_records(labels: &[u8], pixels: &[u8]) -> Vec<u8> {
    let per_image = RECORD_BYTES - 1;
    assert_eq!(
        pixels.len(),
        labels.len() * per_image,
        "one image per label"
    );
    let mut out = Vec::with_capacity(labels.len() * RECORD_BYTES);
    for (&label, image) in labels.iter().zip(pixels.chunks_exact(per_image)) {
        out.push(label);
        out.extend_from_slice(image);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `files` small training files of `per_file` records: labels `(i·7) % 10`, pixel bytes
    /// `(i + p) % 256` for image `i` (counted over all files) and byte `p`.
    fn write_files(dir: &Path, files: usize, per_file: usize) {
        for (f, name) in TRAIN_FILES.iter().enumerate().take(files) {
            let ids = f * per_file..(f + 1) * per_file;
            let labels: Vec<u8> = ids.clone().map(|i| (i * 7 % 10) as u8).collect();
            let pixels: Vec<u8> = ids
                .flat_map(|i| (0..RECORD_BYTES - 1).map(move |p| ((i + p) % 256) as u8))
                .collect();
            std::fs::write(dir.join(name), encode_records(&labels, &pixels)).unwrap();
        }
    }

    /// Images cross file boundaries in file order, pixels are scaled by 1/255 in record order
    /// (`C, H, W`), and only the files needed are opened (files 3–5 are absent).
    #[test]
    fn reads_the_first_images_across_files() {
        let dir = tempfile::tempdir().unwrap();
        write_files(dir.path(), 2, 4);
        let (x, labels) = read_records(dir.path(), 6, 4).unwrap();
        assert_eq!(labels, vec![0, 7, 4, 1, 8, 5]);
        assert_eq!(x.len(), 6 * 3072);
        for (i, image) in x.chunks(3072).enumerate() {
            for p in [0, 1, 1023, 1024, 2047, 2048, 3071] {
                let want = ((i + p) % 256) as f32 / 255.0;
                assert_eq!(image[p].to_bits(), want.to_bits(), "image {i}, byte {p}");
            }
        }
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(matches!(
            read_records(dir.path(), 9, 4),
            Err(CifarError::Missing {
                name: "data_batch_3.bin",
                ..
            })
        ));
    }

    /// A file in the exact CIFAR-10 size (10,000 records, 30,730,000 bytes) is read through the
    /// public entry point.
    #[test]
    fn reads_a_full_size_file() {
        let dir = tempfile::tempdir().unwrap();
        let labels: Vec<u8> = (0..RECORDS_PER_FILE).map(|i| (i % 10) as u8).collect();
        let mut pixels = vec![0u8; RECORDS_PER_FILE * 3072];
        pixels[3072 + 5] = 255;
        pixels[2 * 3072 + 1024] = 51;
        std::fs::write(
            dir.path().join(TRAIN_FILES[0]),
            encode_records(&labels, &pixels),
        )
        .unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join(TRAIN_FILES[0]))
                .unwrap()
                .len(),
            30_730_000
        );
        let (x, l) = load_cifar10_train(dir.path(), 3).unwrap();
        assert_eq!(l, vec![0, 1, 2]);
        assert_eq!(x[3072 + 5].to_bits(), 1.0f32.to_bits());
        assert_eq!(x[2 * 3072 + 1024].to_bits(), 0.2f32.to_bits());
        assert_eq!(x.iter().filter(|&&v| v > 0.0).count(), 2);
        let err = load_cifar10_train(dir.path(), 10_001).unwrap_err();
        assert!(matches!(
            err,
            CifarError::Missing {
                name: "data_batch_2.bin",
                ..
            }
        ));
    }

    /// Each malformed input gives its own one-line error naming the file.
    #[test]
    fn errors_are_precise_and_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TRAIN_FILES[0]);
        let missing = read_records(dir.path(), 1, 4).unwrap_err();
        assert!(matches!(missing, CifarError::Missing { .. }));
        write_files(dir.path(), 1, 4);
        let mut bytes = std::fs::read(&path).unwrap();
        // A cut record.
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        let cut = read_records(dir.path(), 1, 4).unwrap_err();
        assert!(matches!(
            cut,
            CifarError::TruncatedRecord {
                records: 3,
                extra: 3063,
                ..
            }
        ));
        // Whole records, one too few.
        std::fs::write(&path, &bytes[..3 * RECORD_BYTES]).unwrap();
        let short = read_records(dir.path(), 1, 4).unwrap_err();
        assert!(matches!(
            short,
            CifarError::Size {
                records: 3,
                expected: 4,
                ..
            }
        ));
        // A label of 10 in record 2.
        bytes[2 * RECORD_BYTES] = 10;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_records(dir.path(), 2, 4).is_ok());
        let label = read_records(dir.path(), 3, 4).unwrap_err();
        assert_eq!(
            label,
            CifarError::Label {
                path: path.display().to_string(),
                index: 2,
                label: 10,
                classes: 10,
            }
        );
        let sizes = [
            read_records(dir.path(), 0, 4).unwrap_err(),
            read_records(dir.path(), 21, 4).unwrap_err(),
        ];
        assert!(matches!(
            sizes[1],
            CifarError::TrainSize {
                requested: 21,
                available: 20
            }
        ));
        for err in [missing, cut, short, label].iter().chain(&sizes) {
            let text = err.to_string();
            assert!(!text.contains('\n'), "{text}");
        }
        assert!(matches!(
            sizes[0],
            CifarError::TrainSize { requested: 0, .. }
        ));
        let dir_err = read_records(&dir.path().join("nope"), 1, 4).unwrap_err();
        assert!(dir_err.to_string().ends_with("nope' does not exist"));
        let empty = tempfile::tempdir().unwrap();
        let missing_err = read_records(empty.path(), 1, 4).unwrap_err();
        assert!(missing_err.to_string().contains("has no data_batch_1.bin"));
    }
}
