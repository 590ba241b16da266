use kiln_data::{Dataset, TextDataset, VectorizerConfig, Weighting};

use crate::common::fixture;

#[test]
fn text_dataset_reads_long_quoted_fields() {
    let ds = TextDataset::from_csv(fixture("text_small.csv"), "text", "label").unwrap();
    assert_eq!(ds.len(), 6);
    assert_eq!(ds.classes(), ["ham", "spam"]);
    assert_eq!(ds.labels(), [0, 1, 0, 1, 0, 1]);
    assert!(ds.texts()[1].contains("word1, word1,"));
    assert!(ds.texts()[0].ends_with("\nsecond line"));
    assert_eq!(ds.get(3).unwrap().label, 1);
    let err = TextDataset::from_csv(fixture("text_small.csv"), "body", "label").unwrap_err();
    assert!(err.to_string().contains("`body`"), "{err}");
}

#[test]
fn tfidf_matches_scikit_learn() {
    // Reference: sklearn 1.x `TfidfVectorizer()` (smooth idf, l2 norm) on the same documents:
    //   vocabulary ['cat', 'dog', 'the'] -> first row [0.7071, 0, 0.7071] would need equal idf;
    //   here idf(cat)=ln(4/3)+1=1.28768, idf(dog)=1.28768, idf(the)=1.0.
    let docs = ["the cat", "the dog", "the the cat dog"];
    let v = VectorizerConfig::default().fit(&docs).unwrap();
    assert_eq!(v.terms(), ["cat", "dog", "the"]);
    let x = v.transform_dense(&docs);
    let idf = (4.0f32 / 3.0).ln() + 1.0;
    let norm = (idf * idf + 1.0).sqrt();
    let row0 = x.row(0);
    assert!((row0[0] - idf / norm).abs() < 1e-6);
    assert_eq!(row0[1], 0.0);
    assert!((row0[2] - 1.0 / norm).abs() < 1e-6);
    let row2 = x.row(2);
    let norm2 = (2.0 * idf * idf + 4.0f32).sqrt();
    assert!((row2[2] - 2.0 / norm2).abs() < 1e-6);
    // Unknown words are dropped, case is folded.
    let y = v.transform(&["THE zebra"]);
    assert_eq!(y.row(0).0, [2]);
}

#[test]
fn counts_min_df_max_features_and_hashing() {
    let docs = ["a1 b2 b2 c3", "b2 c3", "c3 d4"];
    let v = VectorizerConfig::default()
        .with_weighting(Weighting::Count)
        .with_l2_normalize(false)
        .with_min_df(2)
        .fit(&docs)
        .unwrap();
    assert_eq!(v.terms(), ["b2", "c3"]);
    assert_eq!(v.transform_dense(&docs).row(0), [2.0, 1.0]);
    let v = VectorizerConfig::default()
        .with_weighting(Weighting::Binary)
        .with_l2_normalize(false)
        .with_max_features(1)
        .fit(&docs)
        .unwrap();
    assert_eq!(v.terms(), ["c3"]);
    let h = VectorizerConfig::default()
        .with_weighting(Weighting::Count)
        .with_l2_normalize(false)
        .with_hashing(16)
        .fit(&docs)
        .unwrap();
    assert_eq!(h.n_features(), 16);
    let x = h.transform(&docs);
    assert_eq!(x.row(0).1.iter().sum::<f32>(), 4.0);
    // The hashed id of "c3" is the same in every transform (FNV-1a, not a seeded hasher).
    let c3 = h.transform(&["c3"]).row(0).0[0];
    assert!(x.row(1).0.contains(&c3) && x.row(2).0.contains(&c3));
    assert!(
        VectorizerConfig::default()
            .with_hashing(0)
            .fit(&docs)
            .is_err()
    );
    assert!(VectorizerConfig::default().fit::<&str>(&[]).is_err());
}

#[test]
fn vectorizer_round_trips_through_json() {
    let docs = ["spam spam eggs", "eggs ham"];
    let v = VectorizerConfig::default().fit(&docs).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vec.json");
    v.save(&path).unwrap();
    let back = kiln_data::Vectorizer::load(&path).unwrap();
    assert_eq!(back.transform(&docs), v.transform(&docs));
}

#[test]
fn token_ids_keep_order_pad_and_mark_unknown_terms() {
    let docs = ["the cat", "the dog", "the the cat dog"];
    let v = VectorizerConfig::default().fit(&docs).unwrap();
    assert_eq!(v.vocabulary_size(), 5);
    // cat = 0 → 2, dog = 1 → 3, the = 2 → 4; zebra is unknown (1); 0 pads.
    let ids = v.token_ids(&["The zebra cat", "dog the cat dog the"], 4);
    assert_eq!((ids.rows(), ids.cols()), (2, 4));
    assert_eq!(ids.row(0), [4.0, 1.0, 2.0, 0.0]);
    assert_eq!(ids.row(1), [3.0, 4.0, 2.0, 3.0]);
    let hashed = VectorizerConfig::default()
        .with_hashing(16)
        .fit(&docs)
        .unwrap();
    let ids = hashed.token_ids(&["the cat"], 3);
    assert!(ids.row(0)[..2].iter().all(|&id| (2.0..18.0).contains(&id)));
    assert_eq!(ids.row(0)[2], 0.0);
}
