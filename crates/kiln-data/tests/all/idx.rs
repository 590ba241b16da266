use kiln_data::{DataError, Dataset, IdxArray, IdxData, MnistDataset};

use crate::common::fixture;

fn idx_reason(name: &str) -> String {
    match IdxArray::read(fixture(name)) {
        Err(DataError::Idx { reason, .. }) => reason,
        other => panic!("{name}: expected an IDX error, got {other:?}"),
    }
}

#[test]
fn reads_raw_and_gzip() {
    for name in ["images_ok.idx3", "images_ok.idx3.gz"] {
        let array = IdxArray::read(fixture(name)).unwrap();
        assert_eq!(array.dims, [2, 2, 3]);
        assert_eq!(array.data, IdxData::U8((0..12).collect()));
    }
    let floats = IdxArray::read(fixture("floats.idx2")).unwrap();
    assert_eq!(floats.data, IdxData::F32(vec![1.0, -2.5, 0.0, 3.25]));
}

#[test]
fn malformed_files_are_typed_errors() {
    assert!(idx_reason("truncated.idx3").starts_with("truncated"));
    assert!(idx_reason("trailing.idx3").contains("trailing"));
    assert!(idx_reason("bad_magic.idx3").contains("magic"));
    assert!(idx_reason("bad_type.idx3").contains("type code 0x07"));
    assert!(idx_reason("truncated_header.idx3").contains("header"));
    assert!(idx_reason("corrupt.idx3.gz").contains("reading failed"));
    assert!(
        IdxArray::from_bytes("tiny", &[0, 0])
            .unwrap_err()
            .to_string()
            .contains("tiny")
    );
}

#[test]
fn mnist_pairs_images_and_labels() {
    let ds = MnistDataset::load(fixture("images_ok.idx3"), fixture("labels_ok.idx1")).unwrap();
    assert_eq!(Dataset::len(&ds), 2);
    assert_eq!(ds.image_size(), (2, 3));
    let item = ds.get(1).unwrap();
    assert_eq!(item.pixels, [6, 7, 8, 9, 10, 11]);
    assert_eq!(item.label, 7);
    assert!(ds.get(2).is_err());
    let err =
        MnistDataset::load(fixture("images_ok.idx3"), fixture("labels_mismatch.idx1")).unwrap_err();
    assert!(err.to_string().contains("2 images"), "{err}");
    let err = MnistDataset::load(
        fixture("images_ok.idx3"),
        fixture("labels_out_of_range.idx1"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("label 12"), "{err}");
    let err = MnistDataset::load(fixture("labels_ok.idx1"), fixture("labels_ok.idx1")).unwrap_err();
    assert!(err.to_string().contains("rank 3"), "{err}");
}
