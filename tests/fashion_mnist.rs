//! The real FashionMNIST training set, as Debian's `dataset-fashion-mnist` package installs it
//! (`.ci/run` installs the package): 60,000 images of 28 × 28 pixels, 6,000 per class, read by
//! the same loader `peff memorize --dataset fashion-mnist` uses, with each file's path and the
//! SHA-256 of its decompressed contents recorded.

use std::path::Path;

use peff::data::idx::{load_fashion_mnist_train, DEBIAN_FASHION_MNIST_DIR};

#[test]
fn the_real_training_set_has_60000_images_of_28_by_28_and_6000_per_class() {
    let dir = Path::new(DEBIAN_FASHION_MNIST_DIR);
    let set = load_fashion_mnist_train(dir).unwrap_or_else(|e| {
        panic!("{e} (install Debian's dataset-fashion-mnist package; .ci/run does)")
    });
    assert_eq!(set.images.count, 60_000);
    assert_eq!((set.images.rows, set.images.cols), (28, 28));
    assert_eq!(set.images.pixels.len(), 60_000 * 784);
    let mut per_class = [0usize; 10];
    for &label in &set.labels {
        per_class[label as usize] += 1;
    }
    assert_eq!(per_class, [6_000; 10]);
    // Pixels use the whole byte range (the images are not blank or clipped).
    assert_eq!(set.images.pixels.iter().copied().max(), Some(255));
    assert_eq!(set.images.pixels.iter().copied().min(), Some(0));
    assert_eq!(set.files.len(), 2);
    for (file, name) in set
        .files
        .iter()
        .zip(["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"])
    {
        assert!(file.path.ends_with(name), "{}", file.path);
        assert_eq!(file.sha256.len(), 64);
        assert!(file.check().is_ok());
    }
}
