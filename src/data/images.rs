//! A labelled image set as the image experiments read it (FashionMNIST, CIFAR-10): `count`
//! images of shape `C × H × W` bytes, point-major in PyTorch's `C, H, W` order, one label each,
//! and the files they were read from.
//!
//! ```text
//! pixels[i · C·H·W + (c·H + y)·W + x] = byte of image i, channel c, row y, column x
//! network input = byte / 255 (PyTorch's ToTensor), plus the experiment's noise
//! sha256 = SHA-256(pixels ‖ labels)   (identifies the set whatever files it came from)
//! ```

use super::idx::{DataFile, LabelledImages};

/// `count` labelled images of one shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSet {
    /// Image shape `[C, H, W]`.
    pub shape: [usize; 3],
    /// `count · C · H · W` pixel bytes, image after image.
    pub pixels: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
    /// The files read, in reading order.
    pub files: Vec<DataFile>,
}

impl ImageSet {
    /// Number of images.
    pub fn count(&self) -> usize {
        self.labels.len()
    }

    /// Values per image, `C · H · W`.
    pub fn pixels_per_image(&self) -> usize {
        self.shape.iter().product()
    }

    /// Image `i`'s bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        let d = self.pixels_per_image();
        &self.pixels[i * d..(i + 1) * d]
    }

    /// SHA-256 (lower-case hex) of the pixels, then the labels.
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(&self.pixels);
        hash.update(&self.labels);
        format!("{:x}", hash.finalize())
    }
}

impl From<LabelledImages> for ImageSet {
    /// An IDX set is one channel of `rows × cols`.
    fn from(set: LabelledImages) -> Self {
        ImageSet {
            shape: [1, set.images.rows, set.images.cols],
            pixels: set.images.pixels,
            labels: set.labels,
            files: set.files,
        }
    }
}
