//! The shared corpora are read by one reader (`support::corpus`); this checks it finds what
//! the other tests rely on.

mod support;

use support::corpus;

#[test]
fn finds_the_example_apps() {
    let Some(apps) = corpus::load() else { return };
    assert!(apps.len() > 100, "found only {} apps", apps.len());
    for (name, _, _) in corpus::INVALID {
        assert!(apps.iter().any(|a| a.name == *name), "{name} of the INVALID table not found");
    }
    let mut names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), apps.len(), "two corpus apps share a name");
}
