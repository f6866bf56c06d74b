//! The Redis tier against managed-style servers: TLS with a certificate the test makes (the
//! right CA served, a wrong CA refused at open, mutual TLS), and ACL users (a user with its
//! password served, a wrong password refused naming the user and the address but never the
//! password). Also `stratacache serve --redis ...` with those settings.
#![cfg(feature = "redis")]

use std::time::Duration;

use stratacache::{Cache, Error, RedisConfig, RedisTls, TierKind};

mod common;
use common::redis_server::{RedisServer, redis_available};
use common::redis_tls::{TlsRedisCluster, TlsRedisServer};
use common::serve::{Served, command};

/// A cache with only a memory tier over Redis (each one a separate "host").
fn open(config: RedisConfig) -> stratacache::Result<Cache> {
    Cache::builder()
        .memory(1 << 20)
        .redis_config(config.connect_timeout(Duration::from_secs(2)))
        .open()
}

/// Inserts through `writer`, reads through `reader` (a Redis hit), and checks the key in
/// Redis with `in_redis`.
fn round_trip(writer: &Cache, reader: &Cache, key: &str, in_redis: impl Fn(&str) -> bool) {
    writer.insert_bytes(key, b"shared over TLS").unwrap();
    writer.flush().unwrap();
    let got = reader.get_bytes(key).unwrap().expect("a Redis hit");
    assert_eq!(&got[..], b"shared over TLS");
    assert_eq!(reader.stats().tier(TierKind::Redis).unwrap().hits, 1);
    assert!(in_redis(key), "{key} is not in Redis");
}

fn refused(result: stratacache::Result<Cache>) -> String {
    match result {
        Err(e @ Error::RedisRefused { .. }) => e.to_string(),
        Err(other) => panic!("expected RedisRefused, got {other:?}"),
        Ok(_) => panic!("the cache opened; expected Redis to refuse it"),
    }
}

#[test]
fn tls_with_the_right_ca_serves_and_a_wrong_ca_is_refused() {
    if !redis_available("tls_with_the_right_ca_serves_and_a_wrong_ca_is_refused") {
        return;
    }
    let server = TlsRedisServer::start(false, &[]);
    let tls = || RedisTls::new().ca_file(&server.certs.ca);
    let config = RedisConfig::new(server.url()).key_prefix("tls:").tls(tls());
    let a = open(config.clone()).unwrap();
    let b = open(config).unwrap();
    round_trip(&a, &b, "page/1", |key| {
        server.cli(&["EXISTS", &format!("tls:v:{key}")]) == "1"
    });

    // `redis://` with TLS settings is upgraded to TLS (a plain connection to a TLS port
    // would only time out).
    let plain_url = server.url().replacen("rediss://", "redis://", 1);
    let upgraded = open(RedisConfig::new(plain_url).key_prefix("tls:").tls(tls())).unwrap();
    assert_eq!(
        &upgraded.get_bytes("page/1").unwrap().unwrap()[..],
        b"shared over TLS"
    );

    // A CA that did not sign the server's certificate: refused at open, saying why.
    let wrong = RedisConfig::new(server.url()).tls(RedisTls::new().ca_file(&server.certs.other_ca));
    let message = refused(open(wrong));
    assert!(
        message.contains(&format!("127.0.0.1:{}", server.port)),
        "{message}"
    );
    assert!(message.contains("CA"), "{message}");
    // No CA file: the system's roots do not know the test CA either.
    let message = refused(open(RedisConfig::new(server.url())));
    assert!(message.contains("certificate"), "{message}");
    // Verification off (tests only): served.
    let insecure = RedisConfig::new(server.url())
        .key_prefix("tls:")
        .tls(RedisTls::new().danger_accept_invalid_certs());
    let c = open(insecure).unwrap();
    assert_eq!(
        &c.get_bytes("page/1").unwrap().unwrap()[..],
        b"shared over TLS"
    );

    // A CA file that is not PEM, or missing: an error naming the file.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("ca.pem");
    std::fs::write(&junk, b"not a certificate").unwrap();
    let e = open(RedisConfig::new(server.url()).tls(RedisTls::new().ca_file(&junk))).unwrap_err();
    assert!(e.to_string().contains(&junk.display().to_string()), "{e}");
    let missing = dir.path().join("missing.pem");
    let e =
        open(RedisConfig::new(server.url()).tls(RedisTls::new().ca_file(&missing))).unwrap_err();
    assert!(e.to_string().contains("missing.pem"), "{e}");
}

#[test]
fn a_tls_cluster_serves_and_a_wrong_ca_is_refused() {
    if !redis_available("a_tls_cluster_serves_and_a_wrong_ca_is_refused") {
        return;
    }
    let cluster = TlsRedisCluster::start();
    let config = RedisConfig::cluster(cluster.urls())
        .key_prefix("tlsc:")
        .tls(RedisTls::new().ca_file(&cluster.certs.ca));
    let a = open(config.clone()).unwrap();
    let b = open(config).unwrap();
    // Keys in every slot range: each node is reached over TLS.
    for i in 0..60 {
        a.insert_bytes(format!("doc/{i}"), format!("value {i}").as_bytes())
            .unwrap();
    }
    for i in 0..60 {
        let got = b
            .get_bytes(format!("doc/{i}"))
            .unwrap()
            .expect("a Redis hit");
        assert_eq!(&got[..], format!("value {i}").as_bytes());
    }
    assert_eq!(b.stats().tier(TierKind::Redis).unwrap().hits, 60);
    let holders = cluster
        .nodes
        .iter()
        .filter(|n| n.cli(&["DBSIZE"]) != "0")
        .count();
    assert_eq!(holders, 3, "the values are spread over the three nodes");
    let wrong =
        RedisConfig::cluster(cluster.urls()).tls(RedisTls::new().ca_file(&cluster.certs.other_ca));
    let message = refused(open(wrong));
    assert!(message.contains("CA"), "{message}");
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    if !redis_available("mutual_tls_needs_the_client_certificate") {
        return;
    }
    let server = TlsRedisServer::start(true, &[]);
    let without = RedisConfig::new(server.url()).tls(RedisTls::new().ca_file(&server.certs.ca));
    let message = refused(open(without));
    assert!(
        message.contains(&format!("127.0.0.1:{}", server.port)),
        "{message}"
    );
    let with = RedisConfig::new(server.url()).key_prefix("mtls:").tls(
        RedisTls::new()
            .ca_file(&server.certs.ca)
            .client_cert(&server.certs.client_cert, &server.certs.client_key),
    );
    let a = open(with.clone()).unwrap();
    let b = open(with).unwrap();
    round_trip(&a, &b, "scan/7", |key| {
        server.cli(&["EXISTS", &format!("mtls:v:{key}")]) == "1"
    });
}

/// A plain server with the ACL user `alice` (password `s3cret`, every key and command).
fn acl_server() -> RedisServer {
    let server = RedisServer::start(&[]);
    let mut direct = server.connection();
    redis::cmd("ACL")
        .arg(&["SETUSER", "alice", "on", ">s3cret", "~*", "&*", "+@all"][..])
        .query::<()>(&mut direct)
        .unwrap();
    // The default user cannot get in any more: only alice can.
    redis::cmd("ACL")
        .arg(&["SETUSER", "default", "off"][..])
        .query::<()>(&mut direct)
        .unwrap();
    server
}

fn exists_as_alice(server: &RedisServer, key: &str) -> bool {
    let url = format!("redis://alice:s3cret@127.0.0.1:{}", server.port);
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    redis::cmd("EXISTS")
        .arg(key)
        .query::<u64>(&mut conn)
        .unwrap()
        == 1
}

#[test]
fn an_acl_user_is_served_and_a_wrong_password_is_refused_without_showing_it() {
    if !redis_available("an_acl_user_is_served_and_a_wrong_password_is_refused_without_showing_it")
    {
        return;
    }
    let server = acl_server();
    let config = RedisConfig::new(server.url())
        .key_prefix("acl:")
        .credentials("alice", "s3cret");
    let a = open(config.clone()).unwrap();
    let b = open(config).unwrap();
    round_trip(&a, &b, "doc/1", |key| {
        exists_as_alice(&server, &format!("acl:v:{key}"))
    });
    // The same user in the URL.
    let in_url = format!("redis://alice:s3cret@127.0.0.1:{}", server.port);
    let c = open(RedisConfig::new(in_url).key_prefix("acl:")).unwrap();
    assert_eq!(
        &c.get_bytes("doc/1").unwrap().unwrap()[..],
        b"shared over TLS"
    );

    let wrong = RedisConfig::new(server.url()).credentials("alice", "hunter2-wrong");
    let message = refused(open(wrong));
    assert!(message.contains("\"alice\""), "{message}");
    assert!(
        message.contains(&format!("127.0.0.1:{}", server.port)),
        "{message}"
    );
    assert!(
        !message.contains("hunter2"),
        "the password leaked: {message}"
    );
    // No credentials at all: the default user is off.
    let message = refused(open(RedisConfig::new(server.url())));
    assert!(message.contains("\"default\""), "{message}");
}

#[test]
fn a_server_that_wants_a_password_says_so() {
    if !redis_available("a_server_that_wants_a_password_says_so") {
        return;
    }
    let server = RedisServer::start(&[]);
    redis::cmd("CONFIG")
        .arg(&["SET", "requirepass", "pw-for-default"][..])
        .query::<()>(&mut server.connection())
        .unwrap();
    let message = refused(open(RedisConfig::new(server.url())));
    assert!(message.contains("password"), "{message}");
    let ok = open(RedisConfig::new(server.url()).password("pw-for-default")).unwrap();
    ok.insert_bytes("k", b"v").unwrap();
    assert!(ok.redis_health().unwrap().is_available());
}

#[test]
fn serve_reaches_redis_as_an_acl_user_over_tls_without_echoing_the_password() {
    if !redis_available("serve_reaches_redis_as_an_acl_user_over_tls_without_echoing_the_password")
    {
        return;
    }
    let server = TlsRedisServer::start(false, &[]);
    server.cli(&[
        "ACL",
        "SETUSER",
        "ocr",
        "on",
        ">serve-pw-123",
        "~*",
        "&*",
        "+@all",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let ca = server.certs.ca.display().to_string();
    let url = server.url();
    let args = [
        "--redis",
        url.as_str(),
        "--redis-tls-ca",
        ca.as_str(),
        "--redis-user",
        "ocr",
        "--redis-prefix",
        "srv:",
    ];
    let mut cmd = command(&store, &args);
    cmd.env("STRATACACHE_REDIS_PASSWORD", "serve-pw-123");
    let mut served = Served::spawn(cmd, &store);
    let mut conn = served.connection();
    redis::cmd("SET")
        .arg("page:9")
        .arg("through the server")
        .query::<()>(&mut conn)
        .unwrap();
    let info: String = redis::cmd("INFO")
        .arg("everything")
        .query(&mut conn)
        .unwrap();
    assert!(!info.contains("serve-pw-123"), "INFO shows the password");
    assert_eq!(server.cli(&["EXISTS", "srv:v:page:9"]), "1");
    let (status, stderr) = served.signal_and_wait(libc::SIGTERM);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("Redis tier at"), "{stderr}");
    assert!(
        !stderr.contains("serve-pw-123"),
        "the password was printed: {stderr}"
    );

    // A wrong password: the server does not start, and says who was refused where.
    let mut cmd = command(&store, &args);
    cmd.env("STRATACACHE_REDIS_PASSWORD", "not-the-password");
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("\"ocr\"") && stderr.contains(&format!("127.0.0.1:{}", server.port)),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password"), "{stderr}");
}
