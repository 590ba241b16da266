//! Kiln's drift statistics against SciPy 1.17.1. The reference values come from
//! `tests/data/generate.py` (run it with the project's venv to regenerate
//! `tests/data/scipy_reference.json`). `KILN_SHOW_ERRORS=1 cargo test … -- --nocapture` prints
//! every comparison and its relative error.

use kiln_monitor::{
    Bins, KsMethod, Sample, chi2_contingency, jensen_shannon_distance, ks_2samp, psi,
    wasserstein_distance,
};
use serde_json::Value;

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/scipy_reference.json"
    ))
    .expect("reference file");
    serde_json::from_str(&text).expect("reference JSON")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

#[track_caller]
fn close(got: f64, want: f64, rel: f64, what: &str) {
    let err = (got - want).abs() / want.abs().max(1e-300);
    if std::env::var("KILN_SHOW_ERRORS").is_ok() {
        eprintln!("{what}: {got:e} vs {want:e} err {err:e}");
    }
    assert!(
        got == want || err <= rel,
        "{what}: got {got:e}, SciPy {want:e} (relative error {err:e} > {rel:e})"
    );
}

/// `((i · mult) mod modulus) / modulus + shift`, as in the generator.
fn formula(spec: &Value) -> Vec<f64> {
    let s = floats(spec);
    let (n, mult, modulus, shift) = (s[0] as u64, s[1] as u64, s[2] as u64, s[3]);
    (0..n)
        .map(|i| ((i * mult) % modulus) as f64 / modulus as f64 + shift)
        .collect()
}

fn check_ks(a: &[f64], b: &[f64], case: &Value, label: &str) {
    for (key, method) in [
        ("ks_auto", KsMethod::Auto),
        ("ks_exact", KsMethod::Exact),
        ("ks_asymp", KsMethod::Asymptotic),
    ] {
        let Some(want) = case.get(key) else { continue };
        let got = ks_2samp(a, b, method).unwrap();
        let what = format!("{label} {key}");
        close(
            got.statistic,
            want["statistic"].as_f64().unwrap(),
            1e-12,
            &what,
        );
        // Both methods to 1e-9 (measured: within 5e-13).
        close(
            got.p_value,
            want["p_value"].as_f64().unwrap(),
            1e-9,
            &format!("{what} p-value ({:?})", got.method),
        );
        assert_eq!(
            got.location,
            want["location"].as_f64().unwrap(),
            "{what} location"
        );
        assert_eq!(
            i64::from(got.sign),
            want["sign"].as_i64().unwrap(),
            "{what} sign"
        );
    }
}

#[test]
fn ks_matches_scipy() {
    let r = reference();
    for (i, case) in r["samples"].as_array().unwrap().iter().enumerate() {
        check_ks(
            &floats(&case["a"]),
            &floats(&case["b"]),
            case,
            &format!("sample {i}"),
        );
    }
    for (i, case) in r["formula"].as_array().unwrap().iter().enumerate() {
        check_ks(
            &formula(&case["a"]),
            &formula(&case["b"]),
            case,
            &format!("formula {i}"),
        );
    }
}

#[test]
fn ks_picks_scipys_method() {
    let small: Vec<f64> = (0..10_000).map(|i| i as f64).collect();
    let large: Vec<f64> = (0..10_001).map(|i| i as f64 + 0.5).collect();
    assert_eq!(
        ks_2samp(&small, &small[..20], KsMethod::Auto)
            .unwrap()
            .method,
        KsMethod::Exact
    );
    assert_eq!(
        ks_2samp(&large, &small[..20], KsMethod::Auto)
            .unwrap()
            .method,
        KsMethod::Asymptotic
    );
}

#[test]
fn wasserstein_matches_scipy() {
    let r = reference();
    for (i, case) in r["samples"].as_array().unwrap().iter().enumerate() {
        let got = wasserstein_distance(&floats(&case["a"]), &floats(&case["b"])).unwrap();
        close(
            got,
            case["wasserstein"].as_f64().unwrap(),
            1e-9,
            &format!("sample {i}"),
        );
    }
    for (i, case) in r["formula"].as_array().unwrap().iter().enumerate() {
        let got = wasserstein_distance(&formula(&case["a"]), &formula(&case["b"])).unwrap();
        close(
            got,
            case["wasserstein"].as_f64().unwrap(),
            1e-9,
            &format!("formula {i}"),
        );
    }
}

#[test]
fn bins_psi_and_jensen_shannon_match_numpy_and_scipy() {
    let r = reference();
    for (i, case) in r["samples"].as_array().unwrap().iter().enumerate() {
        let a = Sample::new(floats(&case["a"])).unwrap();
        let b = Sample::new(floats(&case["b"])).unwrap();
        for n in [10, 4] {
            for (key, bins) in [
                (format!("quantile_{n}"), Bins::quantile(&a, n).unwrap()),
                (format!("equal_{n}"), Bins::equal_width(&a, &b, n).unwrap()),
            ] {
                let want = &case[&key];
                let what = format!("sample {i} {key}");
                let cuts = floats(&want["cuts"]);
                assert_eq!(bins.cuts().len(), cuts.len(), "{what} cuts");
                for (g, w) in bins.cuts().iter().zip(&cuts) {
                    close(*g, *w, 1e-12, &format!("{what} cut"));
                }
                let (rc, cc) = (bins.counts(&a), bins.counts(&b));
                assert_eq!(rc, floats(&want["reference"]), "{what} reference counts");
                assert_eq!(cc, floats(&want["current"]), "{what} current counts");
                close(
                    psi(&rc, &cc).unwrap(),
                    want["psi"].as_f64().unwrap(),
                    1e-9,
                    &format!("{what} PSI"),
                );
                close(
                    jensen_shannon_distance(&rc, &cc, None).unwrap(),
                    want["js"].as_f64().unwrap(),
                    1e-9,
                    &format!("{what} JS"),
                );
                close(
                    jensen_shannon_distance(&rc, &cc, Some(2.0)).unwrap(),
                    want["js_base2"].as_f64().unwrap(),
                    1e-9,
                    &format!("{what} JS base 2"),
                );
            }
        }
    }
}

#[test]
fn chi2_matches_scipy() {
    let r = reference();
    for (i, case) in r["chi2"].as_array().unwrap().iter().enumerate() {
        let got = chi2_contingency(&floats(&case["reference"]), &floats(&case["current"]));
        let what = format!("chi2 case {i}");
        // No case has a category absent on both sides, so the table is SciPy's.
        let got = got.unwrap();
        assert_eq!(
            got.dof,
            case["dof"].as_u64().unwrap() as usize,
            "{what} dof"
        );
        close(
            got.statistic,
            case["statistic"].as_f64().unwrap(),
            1e-9,
            &what,
        );
        close(
            got.p_value,
            case["p_value"].as_f64().unwrap(),
            1e-9,
            &format!("{what} p-value"),
        );
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    assert!(ks_2samp(&[], &[1.0], KsMethod::Auto).is_err());
    let err = ks_2samp(&[1.0, f64::NAN], &[1.0], KsMethod::Auto).unwrap_err();
    assert!(err.to_string().contains("position 1"), "{err}");
    assert!(chi2_contingency(&[1.0, 2.0], &[1.0]).is_err());
    assert!(chi2_contingency(&[0.0, 0.0], &[1.0, 2.0]).is_err());
    assert!(psi(&[1.0, -2.0], &[1.0, 2.0]).is_err());
    assert!(jensen_shannon_distance(&[1.0], &[1.0], Some(1.0)).is_err());
    assert!(wasserstein_distance(&[f64::INFINITY], &[1.0]).is_err());
}

#[test]
fn explicit_and_reference_range_bins() {
    let bins = Bins::from_cuts(vec![18.0, 30.0, 65.0]).unwrap();
    assert_eq!(bins.len(), 4);
    assert_eq!([10.0, 18.0, 40.0, 70.0].map(|v| bins.bin(v)), [0, 1, 2, 3]);
    let err = Bins::from_cuts(vec![1.0, 1.0]).unwrap_err().to_string();
    assert!(err.contains("cut 1"), "{err}");
    assert!(Bins::from_cuts(vec![f64::NAN]).is_err());
    // Equal width over the reference's range only: [0, 10] in 5 bins, whatever is compared.
    let reference = Sample::new((0..=10).map(f64::from).collect::<Vec<_>>()).unwrap();
    let bins = Bins::equal_width_reference(&reference, 5).unwrap();
    assert_eq!(bins.cuts(), [2.0, 4.0, 6.0, 8.0]);
    let far = Sample::new(vec![-100.0, 100.0]).unwrap();
    assert_eq!(bins.counts(&far), [1.0, 0.0, 0.0, 0.0, 1.0]);
}
