//! `ttl`, `expire`, `persist`, `invalidate-tag`, `put --tag` and `rm --prefix`.

mod common;

use common::cli::{put, sc, setup};
use predicates::prelude::*;

#[test]
fn expiry_is_read_changed_and_removed_in_place() {
    let (_tmp, store) = setup();
    put(&store, "page", b"text");
    sc(&store)
        .args(["ttl", "page"])
        .assert()
        .success()
        .stdout("none\n");
    sc(&store)
        .args(["expire", "page", "2h"])
        .assert()
        .success()
        .stdout("");
    sc(&store)
        .args(["ttl", "page"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("1h 59m").or(predicate::str::starts_with("2h")));
    sc(&store).args(["persist", "page"]).assert().success();
    sc(&store)
        .args(["ttl", "page"])
        .assert()
        .success()
        .stdout("none\n");
    for cmd in [
        &["ttl", "nope"][..],
        &["expire", "nope", "1h"],
        &["persist", "nope"],
    ] {
        sc(&store)
            .args(cmd)
            .assert()
            .code(1)
            .stderr("stratacache: not found: nope\n");
    }
    sc(&store).args(["expire", "page", "soon"]).assert().code(2);
    // The value was never rewritten: still the same bytes.
    sc(&store)
        .args(["get", "page"])
        .assert()
        .success()
        .stdout("text");
}

#[test]
fn a_tag_retires_every_value_carrying_it() {
    let (_tmp, store) = setup();
    sc(&store)
        .args(["put", "doc7/p1", "--tag", "doc:7"])
        .write_stdin("one")
        .assert()
        .success();
    sc(&store)
        .args(["put", "doc7/p2", "--tag", "doc:7", "--tag", "lang:de"])
        .write_stdin("two")
        .assert()
        .success();
    put(&store, "doc8/p1", b"other");
    sc(&store)
        .args(["get", "doc7/p2"])
        .assert()
        .success()
        .stdout("two");
    sc(&store)
        .args(["invalidate-tag", "doc:7"])
        .assert()
        .success();
    sc(&store).args(["get", "doc7/p1"]).assert().code(1);
    sc(&store).args(["get", "doc7/p2"]).assert().code(1);
    sc(&store)
        .args(["get", "doc8/p1"])
        .assert()
        .success()
        .stdout("other");
    // A value stored after the invalidation, with the same tag, is current.
    sc(&store)
        .args(["put", "doc7/p1", "--tag", "doc:7"])
        .write_stdin("new")
        .assert()
        .success();
    sc(&store)
        .args(["get", "doc7/p1"])
        .assert()
        .success()
        .stdout("new");
}

#[test]
fn rm_prefix_removes_a_whole_subtree() {
    let (_tmp, store) = setup();
    for key in ["tmp/a", "tmp/b/c", "tmpx", "keep"] {
        put(&store, key, b"v");
    }
    sc(&store)
        .args(["rm", "--prefix", "tmp/"])
        .assert()
        .success()
        .stderr("stratacache: removed 2 entries under \"tmp/\"\n");
    sc(&store)
        .args(["ls"])
        .assert()
        .success()
        .stdout("keep\ntmpx\n");
    sc(&store)
        .args(["rm", "--prefix", "none/", "keep"])
        .assert()
        .success();
    sc(&store).args(["ls"]).assert().success().stdout("tmpx\n");
}
