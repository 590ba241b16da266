//! CIFAR-10 and CIFAR-100 binary files: records, labels, class names, and malformed files as
//! errors naming the file.

use kiln_data::datasets::Split;
use kiln_data::{CIFAR_IMAGE_BYTES, CifarDataset, CifarKind, DataError};

/// `n` records with `label_bytes` label bytes each; record `i` has labels `i % 10` (and the
/// fine label `(i * 7) % 100`) and every pixel `i`.
fn records(n: usize, label_bytes: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push((i % 10) as u8);
        if label_bytes == 2 {
            out.push(((i * 7) % 100) as u8);
        }
        out.extend(std::iter::repeat_n(i as u8, CIFAR_IMAGE_BYTES));
    }
    out
}

#[test]
fn cifar10_reads_every_training_batch_in_order_with_its_class_names() {
    let dir = tempfile::tempdir().unwrap();
    for b in 1..=5 {
        std::fs::write(
            dir.path().join(format!("data_batch_{b}.bin")),
            records(3, 1),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("test_batch.bin"), records(4, 1)).unwrap();
    let names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    std::fs::write(dir.path().join("batches.meta.txt"), names).unwrap();

    let train = CifarDataset::load(dir.path(), CifarKind::Cifar10, Split::Train).unwrap();
    assert_eq!(train.len(), 15);
    assert_eq!(&train.labels()[..4], &[0, 1, 2, 0]);
    assert_eq!(train.image(4).len(), CIFAR_IMAGE_BYTES);
    assert!(
        train.image(4).iter().all(|&p| p == 1),
        "batch 2's second record"
    );
    assert_eq!(train.classes()[9], "truck");
    let test = CifarDataset::load(dir.path(), CifarKind::Cifar10, Split::Test).unwrap();
    assert_eq!(test.len(), 4);
}

#[test]
fn cifar100_takes_fine_or_coarse_labels() {
    let bytes = records(12, 2);
    let fine =
        CifarDataset::from_bytes("train.bin", &bytes, CifarKind::Cifar100 { fine: true }).unwrap();
    let coarse =
        CifarDataset::from_bytes("train.bin", &bytes, CifarKind::Cifar100 { fine: false }).unwrap();
    assert_eq!(fine.labels()[11], 77);
    assert_eq!(coarse.labels()[11], 1);
    assert_eq!(fine.classes().len(), 100);
    assert_eq!(coarse.classes().len(), 20);
    assert_eq!(fine.image(11), coarse.image(11));
}

#[test]
fn malformed_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // Truncated: the last record is cut short.
    let mut bytes = records(2, 1);
    bytes.pop();
    let err = CifarDataset::from_bytes("test_batch.bin", &bytes, CifarKind::Cifar10).unwrap_err();
    assert!(matches!(err, DataError::Cifar { .. }), "{err}");
    assert!(err.to_string().contains("test_batch.bin"), "{err}");
    // A label past the class count, with the record named.
    let mut bytes = records(3, 1);
    bytes[2 * (CIFAR_IMAGE_BYTES + 1)] = 10;
    let err = CifarDataset::from_bytes("x.bin", &bytes, CifarKind::Cifar10).unwrap_err();
    assert!(err.to_string().contains("record 2"), "{err}");
    // A missing batch file is an I/O error naming it.
    let err = CifarDataset::load(dir.path(), CifarKind::Cifar10, Split::Test).unwrap_err();
    assert!(err.to_string().contains("test_batch.bin"), "{err}");
    // A names file with the wrong number of names.
    std::fs::write(dir.path().join("fine_label_names.txt"), "apple\n").unwrap();
    std::fs::write(dir.path().join("test.bin"), records(1, 2)).unwrap();
    let err = CifarDataset::load(dir.path(), CifarKind::Cifar100 { fine: true }, Split::Test)
        .unwrap_err();
    assert!(err.to_string().contains("fine_label_names.txt"), "{err}");
}
