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

/// A CSV of `rows` rows whose types only show late: `a` turns float at row 3000, `b` gets a
/// word at row 4000, `c` is quoted text with commas and newlines, `d` is boolean with gaps.
fn late_types_csv(rows: usize, crlf: bool) -> String {
    late_types_csv_with(rows, crlf, true)
}

fn late_types_csv_with(rows: usize, crlf: bool, quotes: bool) -> String {
    let end = if crlf { "\r\n" } else { "\n" };
    let mut csv = format!("a,b,c,d{end}");
    for i in 0..rows {
        let a = if i == 3000 {
            "2.5".to_owned()
        } else {
            i.to_string()
        };
        let b = if i == 4000 {
            "x".to_owned()
        } else {
            format!("{}.25", i % 7)
        };
        let c = if quotes && i % 3 == 0 {
            format!("\"row {i}, with comma\nand newline\"")
        } else {
            format!("plain {i}")
        };
        let d = ["true", "false", ""][i % 3];
        csv.push_str(&format!("{a},{b},{c},{d}{end}"));
    }
    csv
}

#[test]
fn parallel_blocks_widen_types_like_a_full_inference() {
    let dir = tempfile::tempdir().unwrap();
    for (crlf, quotes) in [(false, true), (true, true), (false, false), (true, false)] {
        let path = dir.path().join("late.csv");
        std::fs::write(&path, late_types_csv_with(5000, crlf, quotes)).unwrap();
        let reference = CsvLoader::new()
            .with_threads(1)
            .with_block_size(1 << 30)
            .with_max_categories(100)
            .load(&path)
            .unwrap();
        let types: Vec<ColumnType> = reference
            .schema()
            .fields()
            .iter()
            .map(|f| f.column_type)
            .collect();
        use ColumnType::*;
        assert_eq!(types, [Float, Categorical, Text, Boolean]);
        let schema = CsvLoader::new()
            .with_max_categories(100)
            .infer_schema(&path)
            .unwrap();
        assert_eq!(&schema, reference.schema());
        for (threads, block) in [(1, 700), (3, 1000), (2, 4096), (4, 333)] {
            let table = CsvLoader::new()
                .with_threads(threads)
                .with_block_size(block)
                .with_max_categories(100)
                .load(&path)
                .unwrap();
            assert_eq!(table, reference, "threads {threads}, block {block}");
        }
        assert_eq!(reference.rows(), 5000);
        let a = reference.column("a").unwrap();
        assert_eq!((a.f64_at(2999), a.f64_at(3000)), (Some(2999.0), Some(2.5)));
        let c = reference.column("c").unwrap();
        if quotes {
            assert_eq!(c.text_at(3).unwrap(), "row 3, with comma\nand newline");
        }
        assert_eq!(c.text_at(4).unwrap(), "plain 4");
        assert_eq!(reference.column("d").unwrap().missing_count(), 1666);
        let chunked: usize = CsvLoader::new()
            .with_max_categories(100)
            .chunks(&path, 999)
            .unwrap()
            .map(|c| c.unwrap().rows())
            .sum();
        assert_eq!(chunked, 5000);
    }
}

#[test]
fn errors_deep_in_a_file_name_the_right_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.csv");
    // Every third record spans two lines, so the line of record i is not i + 2.
    let mut csv = late_types_csv(2000, false);
    csv.push_str("1,2,3\n");
    std::fs::write(&path, &csv).unwrap();
    let last_line = csv.lines().count() as u64;
    for threads in [1, 3] {
        let err = CsvLoader::new()
            .with_threads(threads)
            .with_block_size(512)
            .load(&path)
            .unwrap_err();
        assert!(
            matches!(err, DataError::RaggedRow { line, found: 3, .. } if line == last_line),
            "{err}"
        );
    }
    let schema = Schema::new(vec![
        Field::new("a", ColumnType::Integer),
        Field::new("b", ColumnType::Float),
        Field::new("c", ColumnType::Text),
        Field::new("d", ColumnType::Boolean),
    ])
    .unwrap();
    std::fs::write(&path, late_types_csv(3500, false)).unwrap();
    let err = CsvLoader::new()
        .with_schema(schema)
        .with_block_size(512)
        .load(&path)
        .unwrap_err();
    // Row 3000 holds "2.5"; 1000 of the rows before it span two lines.
    assert!(
        matches!(err, DataError::Parse { line: 4002, ref text, .. } if text == "2.5"),
        "{err}"
    );
}
