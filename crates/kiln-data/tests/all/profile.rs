use kiln_data::{ColumnProfile, CsvLoader, TableProfile};

use crate::common::repo_datasets;

#[test]
fn penguins_profile_matches_pandas_describe() {
    let path = repo_datasets().join("tabular/penguins.csv");
    let table = CsvLoader::new().load(&path).unwrap();
    let profile = TableProfile::from_table(&table);
    assert_eq!(profile.rows(), 344);
    let Some(ColumnProfile::Numeric(bill)) = profile.column("bill_length_mm") else {
        panic!("bill_length_mm should be numeric");
    };
    // Reference: pandas `df.bill_length_mm.describe()` on datasets/tabular/penguins.csv:
    // count 342, mean 43.92193, std 5.459584, min 32.1, 25% 39.225, 50% 44.45, 75% 48.5, max 59.6
    assert_eq!((bill.count(), bill.missing()), (342, 2));
    assert!((bill.mean().unwrap() - 43.921_929_8).abs() < 1e-6);
    assert!((bill.std().unwrap() - 5.459_583_7).abs() < 1e-6);
    assert_eq!((bill.min(), bill.max()), (Some(32.1), Some(59.6)));
    assert!((bill.quantile(0.25).unwrap() - 39.225).abs() < 1e-9);
    assert!((bill.quantile(0.5).unwrap() - 44.45).abs() < 1e-9);
    assert!((bill.quantile(0.75).unwrap() - 48.5).abs() < 1e-9);
    let hist = bill.histogram(10);
    assert_eq!(hist.counts.iter().sum::<u64>(), 342);
    assert_eq!(hist.edges.len(), 11);
    let Some(ColumnProfile::Categorical(island)) = profile.column("island") else {
        panic!("island should be categorical");
    };
    assert_eq!(
        island.top(3),
        [("Biscoe", 168), ("Dream", 124), ("Torgersen", 52)]
    );
    let Some(ColumnProfile::Categorical(sex)) = profile.column("sex") else {
        panic!("sex should be categorical");
    };
    assert_eq!(sex.missing(), 11);
    let text = profile.to_string();
    assert!(
        text.contains("bill_length_mm") && text.contains("Biscoe (168)"),
        "{text}"
    );
}

#[test]
fn chunked_profile_equals_whole_profile() {
    let path = repo_datasets().join("tabular/penguins.csv");
    let loader = CsvLoader::new();
    let whole = TableProfile::from_table(&loader.load(&path).unwrap());
    let chunked = TableProfile::from_chunks(loader.chunks(&path, 50).unwrap()).unwrap();
    assert_eq!(chunked.rows(), whole.rows());
    for ((name, _, a), (_, _, b)) in whole.columns().iter().zip(chunked.columns()) {
        match (a, b) {
            (ColumnProfile::Numeric(a), ColumnProfile::Numeric(b)) => {
                assert_eq!(a.count(), b.count(), "{name}");
                assert_eq!(a.missing(), b.missing(), "{name}");
                assert!(
                    (a.mean().unwrap() - b.mean().unwrap()).abs() < 1e-9,
                    "{name}"
                );
                assert!((a.std().unwrap() - b.std().unwrap()).abs() < 1e-9, "{name}");
                assert_eq!(a.quantile(0.5), b.quantile(0.5), "{name}");
                assert_eq!(a.min(), b.min(), "{name}");
            }
            (a, b) => assert_eq!(a, b, "{name}"),
        }
    }
    // Serialized profiles merge again after reading back.
    let back = TableProfile::from_json(&chunked.to_json().unwrap()).unwrap();
    let mut doubled = back.clone();
    doubled.merge(&back).unwrap();
    assert_eq!(doubled.rows(), 2 * whole.rows());
}
