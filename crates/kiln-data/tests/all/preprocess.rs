use kiln_data::{
    CsvLoader, DataError, Impute, Preprocessor, PreprocessorConfig, Scaling, UnknownCategory,
};

fn table(csv: &str) -> kiln_data::Table {
    CsvLoader::new()
        .with_target("y")
        .load_bytes("inline", csv.as_bytes())
        .unwrap()
}

#[test]
fn standardize_uses_training_statistics_only() {
    let train = table("x,y\n1,0\n2,1\n3,0\n");
    let test = table("x,y\n5,1\n");
    let prep = PreprocessorConfig::default().fit(&train).unwrap();
    // mean 2, population std sqrt(2/3)
    let std = (2.0f64 / 3.0).sqrt();
    let x = prep.transform(&test).unwrap();
    assert!((f64::from(x.row(0)[0]) - 3.0 / std).abs() < 1e-6);
    assert_eq!(prep.feature_names(), ["x"]);
}

#[test]
fn min_max_and_none() {
    let train = table("x,y\n2,0\n4,1\n");
    let mm = PreprocessorConfig::default()
        .with_scaling(Scaling::MinMax)
        .fit(&train)
        .unwrap();
    assert_eq!(mm.transform(&table("x,y\n3,0\n")).unwrap().row(0), [0.5]);
    let none = PreprocessorConfig::default()
        .with_scaling(Scaling::None)
        .fit(&train)
        .unwrap();
    assert_eq!(none.transform(&train).unwrap().as_slice(), [2.0, 4.0]);
}

#[test]
fn impute_mean_median_most_frequent() {
    let train = table("x,c,y\n1,a,0\n1,b,0\n7,b,1\n,,1\n");
    let cfg = PreprocessorConfig::default().with_scaling(Scaling::None);
    let row = |impute| {
        let p = cfg.clone().with_impute(impute).fit(&train).unwrap();
        p.transform(&train).unwrap().row(3).to_vec()
    };
    assert_eq!(row(Impute::Mean), [3.0, 0.0, 1.0]);
    assert_eq!(row(Impute::Median), [1.0, 0.0, 1.0]);
    assert_eq!(row(Impute::MostFrequent), [1.0, 0.0, 1.0]);
    let err = cfg.fit(&train).unwrap().transform(&train).unwrap_err();
    assert!(
        matches!(err, DataError::MissingValue { ref column, row: 3 } if column == "x"),
        "{err}"
    );
}

#[test]
fn one_hot_unknown_category_policy() {
    let train = table("c,y\nred,0\nblue,1\n");
    let test = table("c,y\ngreen,0\nred,1\n");
    let strict = PreprocessorConfig::default().fit(&train).unwrap();
    assert_eq!(strict.feature_names(), ["c=blue", "c=red"]);
    let err = strict.transform(&test).unwrap_err();
    assert!(
        matches!(err, DataError::UnknownCategory { ref value, row: 0, .. } if value == "green"),
        "{err}"
    );
    let lenient = PreprocessorConfig::default()
        .with_unknown(UnknownCategory::Ignore)
        .fit(&train)
        .unwrap();
    assert_eq!(
        lenient.transform(&test).unwrap().as_slice(),
        [0.0, 0.0, 0.0, 1.0]
    );
}

#[test]
fn non_finite_values_and_text_columns_are_errors() {
    let train = table("x,y\n1,0\ninf,1\n");
    let err = PreprocessorConfig::default().fit(&train).unwrap_err();
    assert!(matches!(err, DataError::NonFinite { row: 1, .. }), "{err}");
    let text = CsvLoader::new()
        .with_column_type("t", kiln_data::ColumnType::Text)
        .load_bytes("inline", b"t,x\nhello,1\n")
        .unwrap();
    let err = PreprocessorConfig::default().fit(&text).unwrap_err();
    assert!(err.to_string().contains("Vectorizer"), "{err}");
    let ok = PreprocessorConfig::default()
        .with_exclude("t")
        .fit(&text)
        .unwrap();
    assert_eq!(ok.feature_names(), ["x"]);
}

#[test]
fn json_round_trip_reapplies_identically() {
    let train = table("x,c,y\n1,a,0\n2,b,1\n4,a,1\n");
    let prep = PreprocessorConfig::default()
        .with_impute(Impute::Median)
        .fit(&train)
        .unwrap();
    let back = Preprocessor::from_json(&prep.to_json().unwrap()).unwrap();
    assert_eq!(back, prep);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prep.json");
    prep.save(&path).unwrap();
    let loaded = Preprocessor::load(&path).unwrap();
    assert_eq!(
        loaded.transform(&train).unwrap(),
        prep.transform(&train).unwrap()
    );
    assert!(Preprocessor::from_json("{").is_err());
}
