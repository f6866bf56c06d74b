//! `stratacache serve` answers Redis's commands with Redis's reply types and error texts,
//! through a real client (the `redis` crate) and a raw socket (RESP3, exact bytes).

mod common;

use std::io::{Read, Write};

use common::serve::Served;
use redis::{Commands, Value};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// An `SC.LIST` row: key, size, stored size, expiry (Unix ms, -1 none).
type ListedEntry = (Vec<u8>, i64, i64, i64);

fn server() -> (tempfile::TempDir, Served) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = Served::start(&tmp.path().join("store"), &["--memory", "8MiB"]);
    (tmp, served)
}

/// Sends raw bytes and reads until `expected_len` bytes came back.
fn raw_exchange(served: &Served, request: &[u8], expected_len: usize) -> Vec<u8> {
    let mut s = served.raw();
    s.write_all(request).expect("send");
    let mut reply = vec![0u8; expected_len];
    s.read_exact(&mut reply).expect("reply");
    reply
}

fn err_text(e: redis::RedisError) -> String {
    format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or(""))
        .trim()
        .to_string()
}

#[test]
fn strings_and_expiry_behave_as_in_redis() -> TestResult {
    let (_tmp, served) = server();
    let mut c = served.connection();
    let _: () = c.set("greeting", "hello")?;
    assert_eq!(
        c.get::<_, Option<String>>("greeting")?,
        Some("hello".into())
    );
    assert_eq!(c.get::<_, Option<String>>("missing")?, None);
    assert_eq!(c.strlen::<_, i64>("greeting")?, 5);
    assert_eq!(
        c.exists::<_, i64>(&["greeting", "greeting", "missing"][..])?,
        2
    );
    assert_eq!(
        redis::cmd("TYPE").arg("greeting").query::<String>(&mut c)?,
        "string"
    );
    assert_eq!(
        redis::cmd("TYPE").arg("missing").query::<String>(&mut c)?,
        "none"
    );

    // SET options.
    let nx: Option<String> = redis::cmd("SET")
        .arg("greeting")
        .arg("x")
        .arg("NX")
        .query(&mut c)?;
    assert_eq!(nx, None);
    let xx: Option<String> = redis::cmd("SET")
        .arg("fresh")
        .arg("x")
        .arg("XX")
        .query(&mut c)?;
    assert_eq!(xx, None);
    let old: Option<String> = redis::cmd("SET")
        .arg("greeting")
        .arg("hi")
        .arg("GET")
        .query(&mut c)?;
    assert_eq!(old.as_deref(), Some("hello"));
    let _: () = redis::cmd("SET")
        .arg("t")
        .arg("v")
        .arg("EX")
        .arg(100)
        .query(&mut c)?;
    let ttl: i64 = c.ttl("t")?;
    assert!((99..=100).contains(&ttl), "{ttl}");
    let _: () = redis::cmd("SET")
        .arg("t")
        .arg("w")
        .arg("KEEPTTL")
        .query(&mut c)?;
    assert!(c.ttl::<_, i64>("t")? > 90, "KEEPTTL keeps it");
    let _: () = c.set("t", "plain")?;
    assert_eq!(c.ttl::<_, i64>("t")?, -1, "a plain SET clears the TTL");
    assert_eq!(c.ttl::<_, i64>("missing")?, -2);
    let bad = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .arg("EX")
        .arg(0)
        .query::<()>(&mut c)
        .unwrap_err();
    assert_eq!(err_text(bad), "ERR invalid expire time in 'set' command");
    let bad = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .arg("NX")
        .arg("XX")
        .query::<()>(&mut c)
        .unwrap_err();
    assert_eq!(err_text(bad), "ERR syntax error");

    // SETEX, PSETEX, SETNX, GETDEL, GETEX.
    let _: () = c.set_ex("s", "1", 50)?;
    assert!(c.pttl::<_, i64>("s")? > 49_000);
    let _: () = redis::cmd("PSETEX")
        .arg("p")
        .arg(50_000)
        .arg("2")
        .query(&mut c)?;
    assert!(c.pttl::<_, i64>("p")? > 49_000);
    assert_eq!(c.set_nx::<_, _, i64>("s", "x")?, 0);
    assert_eq!(c.set_nx::<_, _, i64>("n", "x")?, 1);
    assert_eq!(
        redis::cmd("GETDEL")
            .arg("n")
            .query::<Option<String>>(&mut c)?
            .as_deref(),
        Some("x")
    );
    assert_eq!(
        redis::cmd("GETDEL")
            .arg("n")
            .query::<Option<String>>(&mut c)?,
        None
    );
    let v: Option<String> = redis::cmd("GETEX").arg("s").arg("PERSIST").query(&mut c)?;
    assert_eq!(v.as_deref(), Some("1"));
    assert_eq!(c.ttl::<_, i64>("s")?, -1);
    let _: Option<String> = redis::cmd("GETEX")
        .arg("s")
        .arg("EX")
        .arg(30)
        .query(&mut c)?;
    assert!(c.ttl::<_, i64>("s")? > 25);

    // EXPIRE family with its options; a time in the past deletes.
    assert!(c.expire::<_, bool>("greeting", 100)?);
    assert!(
        !redis::cmd("EXPIRE")
            .arg("greeting")
            .arg(50)
            .arg("GT")
            .query::<bool>(&mut c)?
    );
    assert!(
        redis::cmd("EXPIRE")
            .arg("greeting")
            .arg(50)
            .arg("LT")
            .query::<bool>(&mut c)?
    );
    assert!(
        !redis::cmd("EXPIRE")
            .arg("greeting")
            .arg(500)
            .arg("NX")
            .query::<bool>(&mut c)?
    );
    assert!(
        redis::cmd("PEXPIRE")
            .arg("greeting")
            .arg(80_000)
            .arg("XX")
            .query::<bool>(&mut c)?
    );
    let at: i64 = redis::cmd("EXPIRETIME").arg("greeting").query(&mut c)?;
    let pat: i64 = redis::cmd("PEXPIRETIME").arg("greeting").query(&mut c)?;
    assert_eq!(at, pat / 1000);
    assert!(c.persist::<_, bool>("greeting")?);
    assert!(!c.persist::<_, bool>("greeting")?);
    assert!(
        c.expire_at::<_, bool>("greeting", 1)?,
        "EXPIREAT in the past deletes"
    );
    assert_eq!(c.get::<_, Option<String>>("greeting")?, None);
    assert!(!c.expire::<_, bool>("greeting", 10)?);
    let bad = c.expire::<_, bool>("t", i64::MAX).unwrap_err();
    assert_eq!(err_text(bad), "ERR invalid expire time in 'expire' command");

    // MSET, MGET, DEL, UNLINK.
    let _: () = c.mset(&[("a", "1"), ("b", "2")])?;
    let got: Vec<Option<String>> = c.mget(&["a", "nope", "b"])?;
    assert_eq!(got, vec![Some("1".into()), None, Some("2".into())]);
    assert_eq!(c.del::<_, i64>(&["a", "nope"][..])?, 1);
    assert_eq!(c.unlink::<_, i64>("b")?, 1);
    Ok(())
}

#[test]
fn keyspace_commands_list_and_count() -> TestResult {
    let (_tmp, served) = server();
    let mut c = served.connection();
    for i in 0..250 {
        let _: () = c.set(format!("user:{i}:profile"), i)?;
    }
    let _: () = c.set("other", 1)?;
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut c)?, 251);
    let mut keys: Vec<String> = c.keys("user:1*")?;
    keys.sort();
    assert_eq!(keys.len(), 1 + 10 + 100);
    let scanned: std::collections::BTreeSet<String> = c
        .scan_match::<_, String>("user:*")?
        .collect::<Result<_, _>>()?;
    assert_eq!(scanned.len(), 250);
    // A cursor walk with COUNT, as redis-py's scan_iter does it.
    let mut cursor = 0u64;
    let mut seen = 0;
    loop {
        let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(7)
            .query(&mut c)?;
        seen += page.len();
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen, 251);
    let (_, none): (u64, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("hash")
        .query(&mut c)?;
    assert!(none.is_empty());
    let bad = redis::cmd("SCAN")
        .arg("notanumber")
        .query::<()>(&mut c)
        .unwrap_err();
    assert_eq!(err_text(bad), "ERR invalid cursor");
    let _: () = redis::cmd("FLUSHDB").query(&mut c)?;
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut c)?, 0);
    Ok(())
}

#[test]
fn connection_and_server_commands_answer_clients() -> TestResult {
    let (_tmp, served) = server();
    let mut c = served.connection();
    assert_eq!(redis::cmd("PING").query::<String>(&mut c)?, "PONG");
    assert_eq!(redis::cmd("PING").arg("hi").query::<String>(&mut c)?, "hi");
    assert_eq!(redis::cmd("ECHO").arg("x").query::<String>(&mut c)?, "x");
    let _: () = redis::cmd("SELECT").arg(0).query(&mut c)?;
    let bad = redis::cmd("SELECT").arg(1).query::<()>(&mut c).unwrap_err();
    assert_eq!(err_text(bad), "ERR DB index is out of range");
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("worker-1")
        .query(&mut c)?;
    assert_eq!(
        redis::cmd("CLIENT")
            .arg("GETNAME")
            .query::<String>(&mut c)?,
        "worker-1"
    );
    let _: () = redis::cmd("CLIENT")
        .arg("SETINFO")
        .arg("LIB-NAME")
        .arg("redis-rs")
        .query(&mut c)?;
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut c)?;
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut c)?;
    assert!(
        list.contains(&format!("id={id} "))
            && list.contains("name=worker-1")
            && list.contains("lib-name=redis-rs"),
        "{list}"
    );
    let count: i64 = redis::cmd("COMMAND").arg("COUNT").query(&mut c)?;
    assert!(count > 40);
    let all: Vec<Value> = redis::cmd("COMMAND").query(&mut c)?;
    assert_eq!(all.len() as i64, count);
    let docs: Value = redis::cmd("COMMAND").arg("DOCS").arg("get").query(&mut c)?;
    assert!(format!("{docs:?}").contains("string value of a key"));
    let info: String = redis::cmd("INFO").query(&mut c)?;
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Keyspace",
        "# Stratacache",
    ] {
        assert!(info.contains(section), "INFO lacks {section}");
    }
    // Memory and disk know their size: their tier lines carry entries and bytes.
    for tier in ["tier_memory:", "tier_disk:"] {
        let line = info
            .lines()
            .find(|l| l.starts_with(tier))
            .unwrap_or_default();
        assert!(
            line.contains(",entries=") && line.contains(",bytes="),
            "INFO {tier} {line:?}"
        );
    }
    let _: Option<String> = c.get("nothing")?;
    let stats: String = redis::cmd("INFO").arg("stats").query(&mut c)?;
    assert!(stats.contains("keyspace_misses:1"), "{stats}");
    assert!(!stats.contains("# Server"));
    let config: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut c)?;
    assert_eq!(config, vec!["appendonly".to_string(), "no".to_string()]);
    let _: () = redis::cmd("SAVE").query(&mut c)?;
    let last: i64 = redis::cmd("LASTSAVE").query(&mut c)?;
    assert!(last > 1_700_000_000);
    let started: String = redis::cmd("BGSAVE").query(&mut c)?;
    assert_eq!(started, "Background saving started");
    let time: Vec<String> = redis::cmd("TIME").query(&mut c)?;
    assert_eq!(time.len(), 2);
    Ok(())
}

#[test]
fn unknown_commands_and_other_types_get_redis_errors() -> TestResult {
    let (_tmp, served) = server();
    let mut c = served.connection();
    let bad = redis::cmd("LPUSH")
        .arg("l")
        .arg("1")
        .query::<()>(&mut c)
        .unwrap_err();
    assert_eq!(
        err_text(bad),
        "ERR unknown command 'LPUSH', with args beginning with: 'l' '1'"
    );
    let bad = redis::cmd("GET").query::<()>(&mut c).unwrap_err();
    assert_eq!(
        err_text(bad),
        "ERR wrong number of arguments for 'get' command"
    );
    let bad = redis::cmd("CLIENT")
        .arg("FLY")
        .query::<()>(&mut c)
        .unwrap_err();
    assert_eq!(
        err_text(bad),
        "ERR unknown subcommand 'FLY'. Try CLIENT HELP."
    );
    // Exact bytes, as a client library parses them.
    let reply = raw_exchange(&served, b"HGET h f\r\n", 55);
    assert_eq!(
        reply,
        b"-ERR unknown command 'HGET', with args beginning with: 'h' 'f' \r\n"
            .get(..55)
            .unwrap()
    );
    Ok(())
}

#[test]
fn resp3_after_hello_3() -> TestResult {
    let (_tmp, served) = server();
    let mut s = served.raw();
    s.write_all(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n")?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head)?;
    assert_eq!(&head, b"%7\r\n", "HELLO 3 answers a map");
    // Drain the map, then a null is `_` and a missing key's GET too.
    let mut buf = vec![0u8; 4096];
    std::thread::sleep(std::time::Duration::from_millis(100));
    let _ = s.read(&mut buf)?;
    s.write_all(b"GET nothing\r\n")?;
    let mut null = [0u8; 3];
    s.read_exact(&mut null)?;
    assert_eq!(&null, b"_\r\n");
    let bad = raw_exchange(&served, b"HELLO 4\r\n", 39);
    assert_eq!(bad, b"-NOPROTO unsupported protocol version\r\n");
    Ok(())
}

#[test]
fn native_commands_reach_what_redis_has_no_command_for() -> TestResult {
    let (_tmp, served) = server();
    let mut c = served.connection();
    let _: () = redis::cmd("SC.SET")
        .arg("page:1")
        .arg("text")
        .arg("TAG")
        .arg("doc:1")
        .query(&mut c)?;
    let _: () = redis::cmd("SC.SET")
        .arg("page:2")
        .arg("text")
        .arg("PX")
        .arg(60_000)
        .query(&mut c)?;
    assert!(c.pttl::<_, i64>("page:2")? > 50_000);
    // NX stores only into an absent key, and says null when it did not.
    let kept: Option<String> = redis::cmd("SC.SET")
        .arg("page:2")
        .arg("other")
        .arg("NX")
        .arg("KIND")
        .arg("text")
        .query(&mut c)?;
    assert_eq!(kept, None);
    assert_eq!(c.get::<_, String>("page:2")?, "text");
    let stored: String = redis::cmd("SC.SET")
        .arg("nx:3")
        .arg("new")
        .arg("NX")
        .query(&mut c)?;
    assert_eq!(
        (stored.as_str(), c.get::<_, String>("nx:3")?.as_str()),
        ("OK", "new")
    );
    let odd = redis::cmd("SC.SET")
        .arg("nx:3")
        .arg("x")
        .arg("PX")
        .query::<()>(&mut c);
    assert!(odd.is_err_and(|e| e.to_string().contains("syntax")));
    let _: i64 = redis::cmd("SC.INVALIDATE").arg("doc:1").query(&mut c)?;
    assert_eq!(
        c.get::<_, Option<String>>("page:1")?,
        None,
        "the tag retired it"
    );
    let _: () = c.set("tmp:1", 1)?;
    let _: () = c.set("tmp:2", 1)?;
    assert_eq!(
        redis::cmd("SC.DELPREFIX")
            .arg("tmp:")
            .query::<i64>(&mut c)?,
        2
    );
    let stats: String = redis::cmd("SC.STATS").query(&mut c)?;
    let stats: serde_json::Value = serde_json::from_str(&stats)?;
    assert!(stats["disk"]["entries"].as_u64().is_some() && stats["cache"]["tiers"].is_array());
    let report: String = redis::cmd("SC.VERIFY").query(&mut c)?;
    assert!(report.contains("\"bad\":[]"), "{report}");
    let _: String = redis::cmd("SC.COMPACT").query(&mut c)?;
    let _: i64 = redis::cmd("SC.SWEEP").query(&mut c)?;
    let (cursor, rows): (u64, Vec<ListedEntry>) = redis::cmd("SC.LIST")
        .arg(0)
        .arg("PREFIX")
        .arg("page:")
        .query(&mut c)?;
    assert_eq!((cursor, rows.len()), (0, 1));
    assert_eq!(rows[0].0, b"page:2");
    assert!(rows[0].3 > 0, "its expiry");
    Ok(())
}

#[test]
fn multi_exec_runs_the_queue_and_answers_together() -> TestResult {
    let (_tmp, served) = server();
    let mut c = served.connection();
    let (a, b): (String, Option<String>) = redis::pipe()
        .atomic()
        .set("x", "1")
        .ignore()
        .get("x")
        .get("y")
        .query(&mut c)?;
    assert_eq!((a.as_str(), b), ("1", None));
    // A refused command inside MULTI discards the transaction, as in Redis.
    let mut s = served.raw();
    s.write_all(b"MULTI\r\nSET z 1\r\nNOSUCH\r\nEXEC\r\nGET z\r\nEXEC\r\nDISCARD\r\n")?;
    let expected: &[u8] =
        b"+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCH', with args beginning with: \r\n\
-EXECABORT Transaction discarded because of previous errors.\r\n$-1\r\n-ERR EXEC without MULTI\r\n\
-ERR DISCARD without MULTI\r\n";
    let mut got = vec![0u8; expected.len()];
    s.read_exact(&mut got)?;
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
    let bad = redis::cmd("WATCH")
        .arg("x")
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(err_text(bad).contains("WATCH is not supported"));
    Ok(())
}
