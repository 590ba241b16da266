//! Parquet in and out: round trips, directories of part files, chunks, projections, foreign
//! types and bad files.

use std::fs;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Decimal128Array, DictionaryArray, Int32Array, ListArray, RecordBatch, StringArray,
    TimestampMillisecondArray, UInt8Array, types::Int32Type, types::Int64Type,
};
use kiln_data::{
    ColumnData, ColumnType, DataError, ParquetCompression, ParquetLoader, ParquetWriter, Table,
    datasets::Datasets,
};

use crate::common::repo_datasets;

/// Same schema, target and values (missing floats hold NaN, so `==` on tables cannot tell).
fn assert_same(a: &Table, b: &Table, what: &str) {
    assert_eq!(a.schema(), b.schema(), "{what}");
    assert_eq!(a.rows(), b.rows(), "{what}");
    assert_eq!(a.target().map(|c| c.name()), b.target().map(|c| c.name()));
    for (x, y) in a.columns().iter().zip(b.columns()) {
        for r in 0..a.rows() {
            assert_eq!(
                x.text_at(r),
                y.text_at(r),
                "{what}: column {} row {r}",
                x.name()
            );
        }
    }
}

fn penguins() -> Table {
    Datasets::only(repo_datasets()).tabular("penguins").unwrap()
}

#[test]
fn a_table_survives_every_codec_with_its_types_gaps_and_target() {
    let dir = tempfile::tempdir().unwrap();
    let table = penguins();
    for codec in [
        ParquetCompression::Uncompressed,
        ParquetCompression::Snappy,
        ParquetCompression::Zstd,
        ParquetCompression::Lz4,
        ParquetCompression::Gzip,
    ] {
        let path = dir.path().join(format!("{codec:?}.parquet"));
        ParquetWriter::new()
            .with_compression(codec)
            .with_row_group_rows(100)
            .write(&table, &path)
            .unwrap();
        let back = ParquetLoader::new().with_threads(2).load(&path).unwrap();
        assert_same(&back, &table, &format!("{codec:?}"));
        assert_eq!(back.target().unwrap().name(), "label");
    }
    // No stray temporary file is left beside the output.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 5);
}

#[test]
fn a_directory_of_part_files_reads_in_order_and_streams_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let table = penguins();
    let rows: Vec<usize> = (0..table.rows()).collect();
    for (i, part) in rows.chunks(100).enumerate() {
        ParquetWriter::new()
            .with_row_group_rows(30)
            .write(
                &table.take(part),
                dir.path().join(format!("part-{i:05}.snappy.parquet")),
            )
            .unwrap();
    }
    fs::write(dir.path().join("_SUCCESS"), b"").unwrap();
    fs::write(dir.path().join(".part-00000.crc"), b"junk").unwrap();
    let whole = ParquetLoader::new()
        .with_threads(3)
        .load(dir.path())
        .unwrap();
    // Categorical levels may be numbered differently across parts; the values are the same.
    assert_same(&whole, &table, "directory");
    // Fewer columns than threads: each thread takes a run of row groups, not a set of columns.
    let projected = |threads| {
        ParquetLoader::new()
            .with_columns(["island", "bill_length_mm"])
            .with_threads(threads)
            .load(dir.path())
            .unwrap()
    };
    let (runs, single) = (projected(3), projected(1));
    assert_eq!(runs.rows(), table.rows());
    assert_same(&runs, &single, "row-group runs");

    let chunks: Vec<Table> = ParquetLoader::new()
        .with_columns(["island", "bill_length_mm"])
        .with_target("label")
        .chunks(dir.path(), 64)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(chunks.iter().all(|c| c.rows() <= 64));
    assert_eq!(chunks.iter().map(Table::rows).sum::<usize>(), table.rows());
    let first = &chunks[0];
    assert_eq!(
        first.schema().names(),
        ["island", "bill_length_mm", "label"]
    );
    assert_eq!(first.target().unwrap().name(), "label");
    assert!(chunks.iter().all(|c| c.schema() == first.schema()));
}

#[test]
fn foreign_arrow_types_map_to_kiln_types() {
    let dict: DictionaryArray<Int32Type> = vec!["red", "blue", "red"].into_iter().collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("small", Arc::new(UInt8Array::from(vec![1, 2, 255]))),
        ("colour", Arc::new(dict)),
        (
            "price",
            Arc::new(
                Decimal128Array::from(vec![Some(1999), None, Some(5)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
        ),
        (
            "at",
            Arc::new(TimestampMillisecondArray::from(vec![0, 1500, 86_400_000])),
        ),
        (
            "note",
            Arc::new(StringArray::from(vec![Some("a b"), None, Some("c")])),
        ),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let table = Table::from_record_batch(&batch).unwrap();
    let types: Vec<ColumnType> = table.columns().iter().map(|c| c.column_type()).collect();
    use ColumnType::*;
    assert_eq!(types, [Integer, Categorical, Float, Float, Categorical]);
    assert_eq!(table.column("small").unwrap().f64_at(2), Some(255.0));
    assert_eq!(table.column("price").unwrap().f64_at(0), Some(19.99));
    assert!(table.column("price").unwrap().is_missing(1));
    assert_eq!(table.column("at").unwrap().f64_at(1), Some(1.5));
    assert!(table.column("note").unwrap().is_missing(1));

    // Through a file, with a declared type.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign.parquet");
    let file = fs::File::create(&path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let loaded = ParquetLoader::new()
        .with_column_type("note", ColumnType::Text)
        .with_column_type("small", ColumnType::Float)
        .load(&path)
        .unwrap();
    assert!(matches!(
        loaded.column("note").unwrap().data(),
        ColumnData::Text(_)
    ));
    assert_eq!(
        loaded.column("small").unwrap().column_type(),
        ColumnType::Float
    );
    let err = ParquetLoader::new()
        .with_column_type("colour", ColumnType::Integer)
        .load(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`colour`"), "{err}");
}

#[test]
fn bad_files_name_the_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.parquet");
    ParquetWriter::new().write(&penguins(), &good).unwrap();
    let bytes = fs::read(&good).unwrap();

    let truncated = dir.path().join("truncated.parquet");
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let not_parquet = dir.path().join("table.parquet");
    fs::write(&not_parquet, b"a,b\n1,2\n").unwrap();
    for path in [&truncated, &not_parquet] {
        let err = ParquetLoader::new().load(path).unwrap_err();
        assert!(matches!(err, DataError::Parquet { .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    // A nested column is refused by name, and a projection leaves it out.
    let tags =
        ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(vec![Some(1), Some(2)]), None]);
    let batch = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
        ("tags", Arc::new(tags) as ArrayRef),
    ])
    .unwrap();
    let nested = dir.path().join("nested.parquet");
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        fs::File::create(&nested).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let err = ParquetLoader::new().load(&nested).unwrap_err();
    assert!(matches!(err, DataError::UnsupportedType { .. }), "{err:?}");
    assert!(err.to_string().contains("`tags`") && err.to_string().contains("nested.parquet"));
    let ids = ParquetLoader::new()
        .with_columns(["id"])
        .load(&nested)
        .unwrap();
    assert_eq!(ids.rows(), 2);

    // Unknown columns and empty directories are errors too.
    let err = ParquetLoader::new()
        .with_columns(["nope"])
        .load(&good)
        .unwrap_err();
    assert!(err.to_string().contains("nope") && err.to_string().contains("island"));
    let empty = tempfile::tempdir().unwrap();
    assert!(ParquetLoader::new().load(empty.path()).is_err());
}

#[test]
fn part_files_with_different_columns_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let table = penguins();
    ParquetWriter::new()
        .write(&table, dir.path().join("part-0.parquet"))
        .unwrap();
    let other = Table::new(vec![table.column("island").unwrap().clone()]).unwrap();
    ParquetWriter::new()
        .write(&other, dir.path().join("part-1.parquet"))
        .unwrap();
    let err = ParquetLoader::new().load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::SchemaMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("part-1.parquet"), "{err}");
}
