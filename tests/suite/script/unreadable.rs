//! A script file that cannot be read is a runtime failure (exit 1, one
//! line naming the errno), as an output file socklab cannot create is;
//! exit 2 stays for errors in the script's text.

use crate::harness::{self, socklab};

fn refused(args: &[&str], code: i32, line: &str) {
    let out = harness::run(socklab(args), b"");
    out.assert_code(code);
    assert_eq!(out.stderr, format!("socklab: {line}\n"), "{}", out.dump());
    assert_eq!(out.stdout, "", "no call made: {}", out.dump());
}

#[test]
fn script_a_missing_or_unreadable_file_exits_1_naming_the_errno() {
    let dir = harness::TempDir::new("script-unreadable");
    let missing = dir.path("missing.script");
    let enoent = format!("cannot read script {missing}: ENOENT (No such file or directory)");
    refused(&["script", &missing], 1, &enoent);
    refused(&["script", &missing, "--emit", "c"], 1, &enoent);
    refused(&["script", &missing, "--emit", "python"], 1, &enoent);
    let sub = dir.path("sub");
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&sub)
        .unwrap();
    refused(
        &["script", &sub],
        1,
        &format!("cannot read script {sub}: EISDIR (Is a directory)"),
    );
}

#[test]
fn script_a_file_that_is_not_text_exits_2() {
    let dir = harness::TempDir::new("script-not-text");
    let bin = dir.path("bin.script");
    std::fs::write(&bin, b"close(\xff)\n").unwrap();
    refused(
        &["script", &bin],
        2,
        &format!("cannot read script {bin}: it is not UTF-8 text"),
    );
}
