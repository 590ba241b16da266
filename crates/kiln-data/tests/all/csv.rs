use kiln_data::{ColumnData, ColumnType, CsvLoader, DataError, Field, Schema};

use crate::common::fixture;

#[test]
fn infers_every_type_with_missing_values_and_quoting() {
    for name in ["types.csv", "types.csv.gz"] {
        let table = CsvLoader::new().load(fixture(name)).unwrap();
        let types: Vec<ColumnType> = table
            .schema()
            .fields()
            .iter()
            .map(|f| f.column_type)
            .collect();
        assert_eq!(
            types,
            [
                ColumnType::Integer,
                ColumnType::Float,
                ColumnType::Boolean,
                ColumnType::Categorical,
                ColumnType::Categorical,
                ColumnType::Float,
            ],
            "{name}"
        );
        assert_eq!(table.rows(), 4);
        let int = table.column("int").unwrap();
        assert_eq!(int.missing_count(), 1);
        assert!(int.is_missing(2));
        assert_eq!(int.f64_at(3), Some(4.0));
        let float = table.column("float").unwrap();
        assert_eq!(float.f64_at(0), Some(1.5));
        assert!(float.is_missing(1));
        let text = table.column("text").unwrap();
        assert_eq!(text.text_at(1).unwrap(), "line one\nline two");
        assert_eq!(text.text_at(3).unwrap(), "she said \"hi\"");
        assert_eq!(table.column("cat").unwrap().missing_count(), 1);
        assert_eq!(table.column("allmissing").unwrap().missing_count(), 4);
    }
}

#[test]
fn max_categories_turns_strings_into_text() {
    let table = CsvLoader::new()
        .with_max_categories(2)
        .load(fixture("types.csv"))
        .unwrap();
    assert_eq!(
        table.column("text").unwrap().column_type(),
        ColumnType::Text
    );
    assert_eq!(
        table.column("cat").unwrap().column_type(),
        ColumnType::Categorical
    );
}

#[test]
fn overrides_and_target() {
    let table = CsvLoader::new()
        .with_column_type("int", ColumnType::Float)
        .with_column_type("cat", ColumnType::Text)
        .with_target("bool")
        .load(fixture("types.csv"))
        .unwrap();
    assert!(matches!(
        table.column("int").unwrap().data(),
        ColumnData::Float(_)
    ));
    assert_eq!(table.target().unwrap().name(), "bool");
    assert_eq!(table.features().count(), 5);
    let err = CsvLoader::new()
        .with_column_type("nope", ColumnType::Float)
        .load(fixture("types.csv"))
        .unwrap_err();
    assert!(matches!(err, DataError::UnknownColumn { ref column, .. } if column == "nope"));
    let err = CsvLoader::new()
        .with_target("nope")
        .load(fixture("types.csv"))
        .unwrap_err();
    assert!(err.to_string().contains("int, float, bool"), "{err}");
}

#[test]
fn empty_file_is_an_error() {
    let err = CsvLoader::new().load(fixture("empty.csv")).unwrap_err();
    assert!(matches!(err, DataError::EmptyFile { .. }), "{err}");
    assert!(err.to_string().contains("empty.csv"));
}

#[test]
fn header_only_file_is_an_empty_table() {
    let table = CsvLoader::new().load(fixture("header_only.csv")).unwrap();
    assert_eq!(table.rows(), 0);
    assert_eq!(table.schema().names(), ["a", "b", "c"]);
}

#[test]
fn duplicate_header_names_both_positions() {
    let err = CsvLoader::new()
        .load(fixture("duplicate_header.csv"))
        .unwrap_err();
    match &err {
        DataError::DuplicateHeader {
            name,
            first,
            second,
            ..
        } => assert_eq!((name.as_str(), *first, *second), ("id", 1, 3)),
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("duplicate_header.csv:1"));
}

#[test]
fn ragged_row_names_line_and_counts() {
    let err = CsvLoader::new().load(fixture("ragged.csv")).unwrap_err();
    match &err {
        DataError::RaggedRow {
            line,
            expected,
            found,
            ..
        } => assert_eq!((*line, *expected, *found), (4, 3, 2)),
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("ragged.csv:4"), "{err}");
}

#[test]
fn unparsable_number_under_fixed_schema() {
    let schema = Schema::new(vec![
        Field::new("x", ColumnType::Float),
        Field::new("y", ColumnType::Integer),
    ])
    .unwrap();
    let err = CsvLoader::new()
        .with_schema(schema)
        .load(fixture("bad_number.csv"))
        .unwrap_err();
    match &err {
        DataError::Parse {
            line,
            column,
            text,
            expected,
            ..
        } => {
            assert_eq!((*line, column.as_str(), text.as_str()), (4, "x", "abc"));
            assert_eq!(*expected, ColumnType::Float);
        }
        other => panic!("unexpected {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("bad_number.csv:4") && msg.contains("`abc`"),
        "{msg}"
    );
    // Without a fixed schema the same file loads, with `x` as categorical.
    let table = CsvLoader::new().load(fixture("bad_number.csv")).unwrap();
    assert_eq!(
        table.column("x").unwrap().column_type(),
        ColumnType::Categorical
    );
}

#[test]
fn schema_that_does_not_match_the_header() {
    let schema = Schema::new(vec![Field::new("x", ColumnType::Float)]).unwrap();
    let err = CsvLoader::new()
        .with_schema(schema)
        .load(fixture("bad_number.csv"))
        .unwrap_err();
    assert!(
        err.to_string().contains("header has columns [x, y]"),
        "{err}"
    );
}

#[test]
fn invalid_utf8_names_line_and_column() {
    let err = CsvLoader::new()
        .load(fixture("invalid_utf8.csv"))
        .unwrap_err();
    match &err {
        DataError::InvalidUtf8 { line, column, .. } => {
            assert_eq!((*line, column.as_str()), (3, "name"));
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn missing_file_is_an_io_error_with_the_path() {
    let err = CsvLoader::new().load(fixture("nope.csv")).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }));
    assert!(err.to_string().contains("nope.csv"));
}

#[test]
fn chunks_cover_every_row_with_one_schema() {
    let whole = CsvLoader::new().load(fixture("types.csv")).unwrap();
    let chunks: Vec<_> = CsvLoader::new()
        .chunks(fixture("types.csv"), 3)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(chunks.iter().map(|c| c.rows()).collect::<Vec<_>>(), [3, 1]);
    for chunk in &chunks {
        assert_eq!(chunk.schema(), whole.schema());
    }
    assert_eq!(
        chunks[1].column("float").unwrap().f64_at(0),
        whole.column("float").unwrap().f64_at(3)
    );
    let err = CsvLoader::new()
        .chunks(fixture("ragged.csv"), 2)
        .unwrap_err();
    assert!(matches!(err, DataError::RaggedRow { line: 4, .. }));
}

#[test]
fn load_bytes_and_delimiter() {
    let table = CsvLoader::new()
        .with_delimiter(b';')
        .with_missing_values(&["?"])
        .load_bytes("inline", b"a;b\n1;?\n2;x\n")
        .unwrap();
    assert_eq!(table.rows(), 2);
    assert!(table.column("b").unwrap().is_missing(0));
    assert_eq!(
        table.column("a").unwrap().column_type(),
        ColumnType::Integer
    );
}

#[test]
fn take_keeps_rows_and_missing_flags() {
    let table = CsvLoader::new().load(fixture("types.csv")).unwrap();
    let picked = table.take(&[2, 0]);
    let int = picked.column("int").unwrap();
    assert!(int.is_missing(0));
    assert_eq!(int.f64_at(1), Some(1.0));
    assert_eq!(picked.column("cat").unwrap().text_at(1).unwrap(), "red");
}
