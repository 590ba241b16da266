//! The `download` feature against a file server on 127.0.0.1 started by the test.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::thread;

use kiln_data::{DataError, datasets::Datasets};

use crate::common::repo_datasets;

/// Serves files under `root` over HTTP/1.1 for `requests` requests, flipping one byte of
/// every body when `corrupt` is set. Returns the base URL.
fn serve(root: PathBuf, requests: usize, corrupt: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let path = request_line.split(' ').nth(1).unwrap_or("/");
            match std::fs::read(root.join(path.trim_start_matches('/'))) {
                Ok(mut body) => {
                    if corrupt {
                        body[0] ^= 1;
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    stream.write_all(head.as_bytes()).unwrap();
                    stream.write_all(&body).unwrap();
                }
                Err(_) => {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
        }
    });
    url
}

#[test]
fn downloads_verifies_and_caches() {
    let empty = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let url = serve(repo_datasets(), 1, false);
    let datasets = Datasets::only(empty.path()).with_download(&url, cache.path());
    let iris = datasets.tabular("iris").unwrap();
    assert_eq!(iris.rows(), 150);
    assert!(cache.path().join("tabular/iris.csv").is_file());
    // The server has stopped after one request: the second load comes from the cache.
    assert_eq!(datasets.tabular("iris").unwrap().rows(), 150);
}

#[test]
fn corrupt_download_is_rejected_and_not_cached() {
    let empty = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let url = serve(repo_datasets(), 1, true);
    let err = Datasets::only(empty.path())
        .with_download(&url, cache.path())
        .tabular("wine")
        .unwrap_err();
    assert!(matches!(err, DataError::Checksum { .. }), "{err}");
    let left: Vec<_> = std::fs::read_dir(cache.path().join("tabular"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "nothing may stay in the cache: {left:?}");
}

#[test]
fn missing_file_on_the_server_is_a_download_error() {
    let empty = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let url = serve(empty.path().to_path_buf(), 1, false);
    let err = Datasets::only(empty.path())
        .with_download(&url, cache.path())
        .tabular("iris")
        .unwrap_err();
    assert!(matches!(err, DataError::Download { .. }), "{err}");
    assert!(err.to_string().contains("/tabular/iris.csv"), "{err}");
}

/// A mirror of MNIST's directory whose gzip files were packed by someone else: other headers,
/// other compressed bytes, the published contents.
fn repacked_mnist_mirror(corrupt: bool) -> tempfile::TempDir {
    use flate2::{Compression, read::GzDecoder, write::GzEncoder};
    use std::io::Read;
    let mirror = tempfile::tempdir().unwrap();
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        let mut raw = Vec::new();
        GzDecoder::new(std::fs::File::open(repo_datasets().join("mnist").join(name)).unwrap())
            .read_to_end(&mut raw)
            .unwrap();
        if corrupt {
            *raw.last_mut().unwrap() ^= 1;
        }
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&raw).unwrap();
        std::fs::write(mirror.path().join(name), gz.finish().unwrap()).unwrap();
    }
    mirror
}

#[test]
fn a_public_mirror_is_tried_first_and_checked_by_its_decompressed_contents() {
    let empty = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mirror = repacked_mnist_mirror(false);
    // The mirror answers both requests; the layout source behind it is never asked.
    let url = serve(mirror.path().to_path_buf(), 2, false);
    let datasets = Datasets::only(empty.path())
        .with_download("http://127.0.0.1:9/unused", cache.path())
        .with_mirror("mnist", &url);
    let test = datasets.mnist(kiln_data::datasets::Split::Test).unwrap();
    assert_eq!(test.len(), 10_000);
    assert!(
        cache
            .path()
            .join("mnist/t10k-images-idx3-ubyte.gz")
            .is_file()
    );
    // Cached now: the server has stopped and the second load needs no network.
    assert_eq!(
        datasets
            .mnist(kiln_data::datasets::Split::Test)
            .unwrap()
            .len(),
        10_000
    );
}

#[test]
fn a_mirror_with_other_contents_is_rejected_and_the_next_source_used() {
    let empty = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let bad = repacked_mnist_mirror(true);
    let bad_url = serve(bad.path().to_path_buf(), 1, false);
    let layout_url = serve(repo_datasets(), 1, false);
    let datasets = Datasets::only(empty.path())
        .with_download(&layout_url, cache.path())
        .with_mirror("mnist", &bad_url);
    let path = datasets.path("mnist/t10k-labels-idx1-ubyte.gz").unwrap();
    assert_eq!(
        std::fs::read(path).unwrap(),
        std::fs::read(repo_datasets().join("mnist/t10k-labels-idx1-ubyte.gz")).unwrap(),
        "the layout source's exact file, not the bad mirror's"
    );
    // With the bad mirror and a dead layout source, the load fails and caches nothing.
    let cache = tempfile::tempdir().unwrap();
    let bad_url = serve(bad.path().to_path_buf(), 1, false);
    let err = Datasets::only(empty.path())
        .with_download("http://127.0.0.1:9/unused", cache.path())
        .with_mirror("mnist", &bad_url)
        .path("mnist/t10k-images-idx3-ubyte.gz")
        .unwrap_err();
    // The dead layout source is tried last, so its error is the one returned.
    assert!(matches!(err, DataError::Download { .. }), "{err}");
    assert!(
        !cache
            .path()
            .join("mnist/t10k-images-idx3-ubyte.gz")
            .exists()
    );
}

/// Fashion-MNIST is not in the repository: its files come from Zalando's locations, and only
/// a file with the published MD5 is accepted (a mirror serving other bytes is rejected, and
/// nothing is cached).
#[test]
fn fashion_mnist_files_are_checked_by_their_published_md5() {
    let empty = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mirror = tempfile::tempdir().unwrap();
    // MNIST's labels under Fashion-MNIST's name: a valid IDX file, but not the published one.
    std::fs::copy(
        repo_datasets().join("mnist/t10k-labels-idx1-ubyte.gz"),
        mirror.path().join("t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let url = serve(mirror.path().to_path_buf(), 1, false);
    let err = Datasets::only(empty.path())
        .with_download("http://127.0.0.1:9/unused", cache.path())
        .with_mirror("fashion-mnist", &url)
        .path("fashion-mnist/t10k-labels-idx1-ubyte.gz");
    // The dead layout source answers last; the mirror's file was refused before it.
    assert!(matches!(err, Err(DataError::Download { .. })), "{err:?}");
    assert!(
        !cache
            .path()
            .join("fashion-mnist")
            .read_dir()
            .unwrap()
            .any(|_| true)
    );

    // From a directory, the same file is refused with the MD5 named.
    let local = tempfile::tempdir().unwrap();
    std::fs::create_dir(local.path().join("fashion-mnist")).unwrap();
    std::fs::copy(
        repo_datasets().join("mnist/t10k-labels-idx1-ubyte.gz"),
        local.path().join("fashion-mnist/t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let err = Datasets::only(local.path())
        .path("fashion-mnist/t10k-labels-idx1-ubyte.gz")
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("MD5 is 56588c56622999cba3c29b245ad30614")
            && message.contains("expected bb300cfdad3c16e7a12a480ee83cd310"),
        "{message}"
    );
    assert!(
        matches!(
            err,
            DataError::Checksum {
                algorithm: "MD5",
                ..
            }
        ),
        "{err}"
    );
}
