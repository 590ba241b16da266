use kiln_data::datasets::{self, TABULAR};
use kiln_data::{DataError, Dataset, datasets::Datasets, datasets::Split};

use crate::common::repo_datasets;

#[test]
fn compiled_checksums_equal_the_repository_file() {
    let repo = std::fs::read_to_string(repo_datasets().join("SHA256SUMS")).unwrap();
    let copy = include_str!("../../datasets.sha256");
    assert_eq!(
        repo, copy,
        "run: cp datasets/SHA256SUMS crates/kiln-data/datasets.sha256"
    );
}

#[test]
fn every_tabular_dataset_loads_with_its_target() {
    for &name in TABULAR {
        let table = datasets::tabular(name).unwrap();
        assert!(table.rows() > 0, "{name}");
        if name != "linnerud" {
            assert!(table.target().is_some(), "{name}");
        }
    }
    let iris = datasets::tabular("iris").unwrap();
    assert_eq!((iris.rows(), iris.schema().len()), (150, 5));
    let (codes, names) = iris.target().unwrap().class_codes().unwrap();
    assert_eq!(names, ["0", "1", "2"]);
    assert_eq!(codes.iter().filter(|&&c| c == 2).count(), 50);
    let err = datasets::tabular("titanic").unwrap_err();
    assert!(matches!(err, DataError::UnknownDataset { .. }));
    assert!(err.to_string().contains("iris"));
}

#[test]
fn compiled_in_tables_equal_the_repository_files() {
    // What a user of Kiln from a registry gets: the same tables, with no directory at all.
    for &name in TABULAR {
        let compiled = Datasets::compiled().tabular(name).unwrap();
        let file = Datasets::only(repo_datasets()).tabular(name).unwrap();
        // Compared as text: penguins' missing floats are NaN, which `==` never equals.
        assert_eq!(format!("{compiled:?}"), format!("{file:?}"), "{name}");
    }
    // Nothing else is compiled in: MNIST needs a directory or a download.
    let err = Datasets::compiled().mnist(Split::Test).unwrap_err();
    assert!(matches!(err, DataError::DatasetNotFound { .. }), "{err}");
}

#[test]
fn mnist_test_split_loads() {
    let test = datasets::mnist(Split::Test).unwrap();
    assert_eq!(test.len(), 10_000);
    assert_eq!(test.image_size(), (28, 28));
    // The first test image is a 7 (LeCun's t10k set).
    assert_eq!(test.get(0).unwrap().label, 7);
}

#[test]
fn spam_corpus_loads() {
    let spam = datasets::spam_assassin().unwrap();
    assert_eq!(spam.len(), 6046);
    assert_eq!(spam.classes(), ["0", "1"]);
    assert_eq!(spam.labels().iter().filter(|&&l| l == 1).count(), 1896);
}

#[test]
fn corrupt_file_fails_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tabular")).unwrap();
    let mut bytes = std::fs::read(repo_datasets().join("tabular/iris.csv")).unwrap();
    bytes[100] ^= 1;
    std::fs::write(dir.path().join("tabular/iris.csv"), bytes).unwrap();
    let err = Datasets::only(dir.path()).tabular("iris").unwrap_err();
    assert!(matches!(err, DataError::Checksum { .. }), "{err}");
    // The explicit directory comes first, so `at` fails the same way; `only` without the file
    // says where it looked.
    assert!(Datasets::at(dir.path()).tabular("iris").is_err());
    let err = Datasets::only(dir.path()).tabular("wine").unwrap_err();
    assert!(matches!(err, DataError::DatasetNotFound { .. }));
    assert!(err.to_string().contains("KILN_DATASETS_DIR"), "{err}");
}
