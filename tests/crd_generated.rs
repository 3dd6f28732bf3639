//! The committed CRD YAML (`crds/` and the chart's copy) must equal what the Rust types
//! generate. `UPDATE_CRDS=1 cargo test --test crd_generated` rewrites the files.

use std::path::Path;

use marathon_operator::crd::yaml::{OUTPUT_DIRS, files};

#[test]
fn committed_crds_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("UPDATE_CRDS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for dir in OUTPUT_DIRS {
        for (name, text) in files().expect("render CRDs") {
            let path = root.join(dir).join(&name);
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != text {
                if update {
                    std::fs::create_dir_all(root.join(dir)).expect("create directory");
                    std::fs::write(&path, &text).expect("write CRD");
                } else {
                    stale.push(format!("{dir}/{name}"));
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale CRD files {stale:?}: run `UPDATE_CRDS=1 cargo test --test crd_generated` \
         (or `cargo run -- crdgen --write .`) and commit the result"
    );
}
