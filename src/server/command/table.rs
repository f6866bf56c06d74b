//! The command table: every command's name, arity, flags, keys and docs, and its handler.

use super::Spec;
use super::{connection, expiry, keyspace, native, server, strings, transaction};

macro_rules! spec {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $group:literal, $summary:literal, $run:expr) => {
        Spec {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: $keys,
            group: $group,
            summary: $summary,
            run: $run,
        }
    };
}

const W: &[&str] = &["write"];
const WF: &[&str] = &["write", "denyoom"];
const R: &[&str] = &["readonly", "fast"];
const RS: &[&str] = &["readonly"];
const F: &[&str] = &["fast"];
const L: &[&str] = &["loading", "stale", "fast"];
const A: &[&str] = &["admin", "noscript"];

/// Every command, in `COMMAND` order.
pub static COMMANDS: &[Spec] = &[
    spec!(
        "get",
        2,
        R,
        (1, 1, 1),
        "string",
        "Returns the string value of a key.",
        strings::get
    ),
    spec!(
        "set",
        -3,
        WF,
        (1, 1, 1),
        "string",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        strings::set
    ),
    spec!(
        "setex",
        4,
        WF,
        (1, 1, 1),
        "string",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
        strings::setex
    ),
    spec!(
        "psetex",
        4,
        WF,
        (1, 1, 1),
        "string",
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
        strings::psetex
    ),
    spec!(
        "setnx",
        3,
        &["write", "denyoom", "fast"],
        (1, 1, 1),
        "string",
        "Set the string value of a key only when the key doesn't exist.",
        strings::setnx
    ),
    spec!(
        "getdel",
        2,
        &["write", "fast"],
        (1, 1, 1),
        "string",
        "Returns the string value of a key after deleting the key.",
        strings::getdel
    ),
    spec!(
        "getex",
        -2,
        &["write", "fast"],
        (1, 1, 1),
        "string",
        "Returns the string value of a key after setting its expiration time.",
        strings::getex
    ),
    spec!(
        "mget",
        -2,
        R,
        (1, -1, 1),
        "string",
        "Atomically returns the string values of one or more keys.",
        strings::mget
    ),
    spec!(
        "mset",
        -3,
        WF,
        (1, -1, 2),
        "string",
        "Atomically creates or modifies the string values of one or more keys.",
        strings::mset
    ),
    spec!(
        "strlen",
        2,
        R,
        (1, 1, 1),
        "string",
        "Returns the length of a string value.",
        strings::strlen
    ),
    spec!(
        "del",
        -2,
        W,
        (1, -1, 1),
        "generic",
        "Deletes one or more keys.",
        keyspace::del
    ),
    spec!(
        "unlink",
        -2,
        &["write", "fast"],
        (1, -1, 1),
        "generic",
        "Asynchronously deletes one or more keys.",
        keyspace::del
    ),
    spec!(
        "exists",
        -2,
        R,
        (1, -1, 1),
        "generic",
        "Determines whether one or more keys exist.",
        keyspace::exists
    ),
    spec!(
        "type",
        2,
        R,
        (1, 1, 1),
        "generic",
        "Determines the type of value stored at a key.",
        keyspace::key_type
    ),
    spec!(
        "scan",
        -2,
        RS,
        (0, 0, 0),
        "generic",
        "Iterates over the key names in the database.",
        keyspace::scan
    ),
    spec!(
        "keys",
        2,
        RS,
        (0, 0, 0),
        "generic",
        "Returns all key names that match a pattern.",
        keyspace::keys
    ),
    spec!(
        "dbsize",
        1,
        R,
        (0, 0, 0),
        "server",
        "Returns the number of keys in the database.",
        keyspace::dbsize
    ),
    spec!(
        "flushdb",
        -1,
        W,
        (0, 0, 0),
        "server",
        "Remove all keys from the current database.",
        keyspace::flush
    ),
    spec!(
        "flushall",
        -1,
        W,
        (0, 0, 0),
        "server",
        "Removes all keys from all databases.",
        keyspace::flush
    ),
    spec!(
        "expire",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key in seconds.",
        expiry::expire
    ),
    spec!(
        "pexpire",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key in milliseconds.",
        expiry::pexpire
    ),
    spec!(
        "expireat",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key to a Unix timestamp.",
        expiry::expireat
    ),
    spec!(
        "pexpireat",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "generic",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        expiry::pexpireat
    ),
    spec!(
        "ttl",
        2,
        R,
        (1, 1, 1),
        "generic",
        "Returns the expiration time in seconds of a key.",
        expiry::ttl
    ),
    spec!(
        "pttl",
        2,
        R,
        (1, 1, 1),
        "generic",
        "Returns the expiration time in milliseconds of a key.",
        expiry::pttl
    ),
    spec!(
        "expiretime",
        2,
        R,
        (1, 1, 1),
        "generic",
        "Returns the expiration time of a key as a Unix timestamp.",
        expiry::expiretime
    ),
    spec!(
        "pexpiretime",
        2,
        R,
        (1, 1, 1),
        "generic",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        expiry::pexpiretime
    ),
    spec!(
        "persist",
        2,
        &["write", "fast"],
        (1, 1, 1),
        "generic",
        "Removes the expiration time of a key.",
        expiry::persist
    ),
    spec!(
        "ping",
        -1,
        F,
        (0, 0, 0),
        "connection",
        "Returns the server's liveliness response.",
        connection::ping
    ),
    spec!(
        "echo",
        2,
        F,
        (0, 0, 0),
        "connection",
        "Returns the given string.",
        connection::echo
    ),
    spec!(
        "quit",
        -1,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "Closes the connection.",
        connection::quit
    ),
    spec!(
        "hello",
        -1,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "Handshakes with the Redis server.",
        connection::hello
    ),
    spec!(
        "auth",
        -2,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        (0, 0, 0),
        "connection",
        "Authenticates the connection.",
        connection::auth
    ),
    spec!(
        "select",
        2,
        L,
        (0, 0, 0),
        "connection",
        "Changes the selected database.",
        connection::select
    ),
    spec!(
        "client",
        -2,
        &["noscript", "loading", "stale"],
        (0, 0, 0),
        "connection",
        "A container for client connection commands.",
        connection::client
    ),
    spec!(
        "reset",
        1,
        L,
        (0, 0, 0),
        "connection",
        "Resets the connection.",
        connection::reset
    ),
    spec!(
        "multi",
        1,
        &["noscript", "loading", "stale", "fast"],
        (0, 0, 0),
        "transactions",
        "Starts a transaction.",
        transaction::multi
    ),
    spec!(
        "exec",
        1,
        &["noscript", "loading", "stale"],
        (0, 0, 0),
        "transactions",
        "Executes all commands in a transaction.",
        transaction::exec
    ),
    spec!(
        "discard",
        1,
        &["noscript", "loading", "stale", "fast"],
        (0, 0, 0),
        "transactions",
        "Discards a transaction.",
        transaction::discard
    ),
    spec!(
        "watch",
        -2,
        &["noscript", "loading", "stale", "fast"],
        (1, -1, 1),
        "transactions",
        "Monitors changes to keys to determine the execution of a transaction.",
        transaction::watch
    ),
    spec!(
        "unwatch",
        1,
        &["noscript", "loading", "stale", "fast"],
        (0, 0, 0),
        "transactions",
        "Forgets about watched keys of a transaction.",
        transaction::unwatch
    ),
    spec!(
        "command",
        -1,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns detailed information about all commands.",
        server::command
    ),
    spec!(
        "info",
        -1,
        &["loading", "stale"],
        (0, 0, 0),
        "server",
        "Returns information and statistics about the server.",
        server::info
    ),
    spec!(
        "config",
        -2,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "server",
        "A container for server configuration commands.",
        server::config
    ),
    spec!(
        "save",
        1,
        A,
        (0, 0, 0),
        "server",
        "Synchronously saves the database(s) to disk.",
        server::save
    ),
    spec!(
        "bgsave",
        -1,
        A,
        (0, 0, 0),
        "server",
        "Asynchronously saves the database(s) to disk.",
        server::bgsave
    ),
    spec!(
        "lastsave",
        1,
        &["loading", "stale", "fast"],
        (0, 0, 0),
        "server",
        "Returns the Unix timestamp of the last successful save to disk.",
        server::lastsave
    ),
    spec!(
        "shutdown",
        -1,
        &["admin", "noscript", "loading", "stale"],
        (0, 0, 0),
        "server",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        server::shutdown
    ),
    spec!(
        "time",
        1,
        L,
        (0, 0, 0),
        "server",
        "Returns the server time.",
        server::time
    ),
    spec!(
        "sc.invalidate",
        -2,
        W,
        (0, 0, 0),
        "stratacache",
        "Retires every value carrying one of the given tags (stratacache).",
        native::invalidate
    ),
    spec!(
        "sc.delprefix",
        2,
        W,
        (0, 0, 0),
        "stratacache",
        "Removes every key starting with a prefix; replies the count (stratacache).",
        native::delprefix
    ),
    spec!(
        "sc.set",
        -3,
        WF,
        (1, 1, 1),
        "stratacache",
        "SET with tags and a value kind: SC.SET key value [PX ms] [TAG tag]... [KIND kind] (stratacache).",
        native::set_tagged
    ),
    spec!(
        "sc.list",
        -2,
        RS,
        (0, 0, 0),
        "stratacache",
        "Lists entries with sizes and expiry: SC.LIST cursor [PREFIX p] [COUNT n] (stratacache).",
        native::list
    ),
    spec!(
        "sc.get",
        2,
        R,
        (1, 1, 1),
        "stratacache",
        "GET with what the value is: SC.GET key -> [value, bytes|text|json|msgpack|bincode|pickle] (stratacache).",
        native::get_with_kind
    ),
    spec!(
        "sc.stats",
        1,
        RS,
        (0, 0, 0),
        "stratacache",
        "The store's and the cache's stats as JSON (stratacache).",
        native::stats
    ),
    spec!(
        "sc.verify",
        -1,
        RS,
        (0, 0, 0),
        "stratacache",
        "Checks every record's CRC: SC.VERIFY [REPAIR]; a JSON report (stratacache).",
        native::verify
    ),
    spec!(
        "sc.compact",
        -1,
        W,
        (0, 0, 0),
        "stratacache",
        "Compacts sparse segments: SC.COMPACT [ALL]; a JSON report (stratacache).",
        native::compact
    ),
    spec!(
        "sc.sweep",
        1,
        W,
        (0, 0, 0),
        "stratacache",
        "Removes expired entries now; replies the count (stratacache).",
        native::sweep
    ),
    spec!(
        "sc.capacity",
        -1,
        W,
        (0, 0, 0),
        "stratacache",
        "Reads or sets the disk capacity in bytes: SC.CAPACITY [bytes] (stratacache).",
        native::capacity
    ),
];
