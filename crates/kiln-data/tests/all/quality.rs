use kiln_data::{Check, ColumnType, CsvLoader, DataError, QualitySuite};

use crate::common::{fixture, repo_datasets};

fn penguins() -> kiln_data::Table {
    CsvLoader::new()
        .with_target("label")
        .load(repo_datasets().join("tabular/penguins.csv"))
        .unwrap()
}

#[test]
fn suite_from_toml_reports_failures_with_examples() {
    let table = penguins();
    let report = QualitySuite::from_file(fixture("suite.toml"))
        .unwrap()
        .run(&table)
        .unwrap();
    assert!(!report.passed());
    let by_desc = |prefix: &str| {
        report
            .results
            .iter()
            .find(|r| r.description.starts_with(prefix))
            .unwrap()
    };
    let not_null = by_desc("not_null(sex)");
    assert!(!not_null.passed);
    assert_eq!(not_null.failing, 11);
    assert_eq!(not_null.examples.len(), 5);
    assert_eq!(not_null.examples[0].row, 3);
    assert_eq!(not_null.examples[0].value, None);
    // 35..60 excludes bills under 35 mm (pandas: (df.bill_length_mm < 35).sum() == 9).
    let range = by_desc("range(bill_length_mm");
    assert!(!range.passed);
    assert_eq!(range.failing, 9);
    assert!(by_desc("in_set(island").passed);
    assert!(by_desc("row_count").passed);
    assert!(by_desc("regex(island").passed);
    // Checks never change the data.
    assert_eq!(table.rows(), 344);
    let text = report.to_string();
    assert!(text.contains("FAIL  not_null(sex)  (11 rows)"), "{text}");
    assert!(text.contains("row 3: <missing>"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
    assert_eq!(json["results"][0]["failing"], 11);
}

#[test]
fn unique_type_class_balance_and_row_count() {
    let table = penguins();
    let report = QualitySuite::new()
        .with_check(Check::Unique {
            column: "island".into(),
        })
        .with_check(Check::Type {
            column: "year".into(),
            expected: ColumnType::Integer,
        })
        .with_check(Check::Type {
            column: "island".into(),
            expected: ColumnType::Float,
        })
        .with_check(Check::ClassBalance {
            column: "label".into(),
            min_fraction: 0.25,
        })
        .with_check(Check::RowCount {
            min: None,
            max: Some(100),
        })
        .run(&table)
        .unwrap();
    let r = &report.results;
    assert!(!r[0].passed && r[0].failing == 344);
    assert!(r[1].passed);
    assert!(!r[2].passed && r[2].note.as_deref() == Some("column is categorical"));
    // Chinstrap (label 1) is 68 of 344 rows = 19.8%.
    assert!(!r[3].passed, "{:?}", r[3]);
    assert!(r[3].note.as_deref().unwrap().contains("1: 68"));
    assert!(!r[4].passed);
}

#[test]
fn defaults_and_json_suites() {
    let table = penguins();
    let report = QualitySuite::defaults_for(&table).run(&table).unwrap();
    let failed: Vec<&str> = report.failures().map(|r| r.description.as_str()).collect();
    assert!(failed.contains(&"not_null(sex)"), "{failed:?}");
    assert!(!failed.contains(&"not_null(island)"));
    let suite = QualitySuite::from_json(
        r#"{"check": [{"check": "in_set", "column": "island", "values": ["Dream"]}]}"#,
    )
    .unwrap();
    assert_eq!(suite.run(&table).unwrap().results[0].failing, 220);
}

#[test]
fn broken_suites_are_errors() {
    let table = penguins();
    let err = QualitySuite::new()
        .with_check(Check::NotNull {
            column: "nope".into(),
        })
        .run(&table)
        .unwrap_err();
    assert!(matches!(err, DataError::UnknownColumn { .. }));
    let err = QualitySuite::new()
        .with_check(Check::Regex {
            column: "island".into(),
            pattern: "(".into(),
        })
        .run(&table)
        .unwrap_err();
    assert!(err.to_string().contains("regex check on `island`"), "{err}");
    let err = QualitySuite::from_toml("[[check]]\ncheck = \"bogus\"\n").unwrap_err();
    assert!(err.to_string().contains("bogus"), "{err}");
}
