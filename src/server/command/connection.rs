//! Connection commands: PING, ECHO, QUIT, HELLO, AUTH, SELECT, CLIENT, RESET.

use super::util::{Ctx, NOT_INTEGER, SYNTAX, int, is, shown};
use crate::server::resp::reply::Protocol;
use crate::server::session::Close;

/// `PING [message]`
pub fn ping(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match args {
        [_] => ctx.out.simple("PONG"),
        [_, message] => ctx.out.bulk(message),
        _ => ctx.error("ERR wrong number of arguments for 'ping' command"),
    }
}

/// `ECHO message`
pub fn echo(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    ctx.out.bulk(args[1]);
}

/// `QUIT`: OK, then the connection closes.
pub fn quit(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.out.ok();
    ctx.session.close = Close::AfterReply;
}

/// Compares in time that depends on the lengths only, not on where the bytes differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = given.len() ^ expected.len();
    for (i, &e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(!e);
        diff |= usize::from(g ^ e);
    }
    std::hint::black_box(diff) == 0
}

/// Checks `AUTH`'s user and password; queues the error and returns false when they fail.
fn authenticate(ctx: &mut Ctx<'_>, user: &[u8], password: &[u8]) -> bool {
    let Some(expected) = ctx.shared.config.password.as_deref() else {
        ctx.error(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        );
        return false;
    };
    let right = same_secret(password, expected.as_bytes());
    if !(right && user == b"default") {
        ctx.error("WRONGPASS invalid username-password pair or user is disabled.");
        return false;
    }
    ctx.session.authed = true;
    true
}

/// `AUTH [username] password`
pub fn auth(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let ok = match args {
        [_, password] => authenticate(ctx, b"default", password),
        [_, user, password] => authenticate(ctx, user, password),
        _ => {
            ctx.error(SYNTAX);
            false
        }
    };
    if ok {
        ctx.out.ok();
    }
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
pub fn hello(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut protocol = ctx.out.protocol;
    let mut rest = &args[1..];
    if let [version, tail @ ..] = rest {
        protocol = match int(version) {
            Some(2) => Protocol::Resp2,
            Some(3) => Protocol::Resp3,
            Some(_) => return ctx.error("NOPROTO unsupported protocol version"),
            None => return ctx.error("ERR Protocol version is not an integer or out of range"),
        };
        rest = tail;
    }
    let mut name = None;
    loop {
        match rest {
            [] => break,
            [word, user, password, tail @ ..] if is(word, "auth") => {
                if !authenticate(ctx, user, password) {
                    return;
                }
                rest = tail;
            }
            [word, client_name, tail @ ..] if is(word, "setname") => {
                name = Some(*client_name);
                rest = tail;
            }
            [word, ..] => {
                return ctx.error(&format!(
                    "ERR Syntax error in HELLO option '{}'",
                    shown(word)
                ));
            }
        }
    }
    if !ctx.session.authed {
        return ctx.error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and \
             select the RESP protocol version at the same time",
        );
    }
    if let Some(name) = name
        && !set_name(ctx, name)
    {
        return;
    }
    ctx.out.protocol = protocol;
    let resp = if protocol == Protocol::Resp3 { 3 } else { 2 };
    ctx.session.slot.lock().resp = resp;
    let id = ctx.session.id;
    let out = &mut *ctx.out;
    out.map(7);
    out.text("server");
    out.text("redis");
    out.text("version");
    out.text(super::server::REDIS_VERSION);
    out.text("proto");
    out.int(resp as i64);
    out.text("id");
    out.int(id as i64);
    out.text("mode");
    out.text("standalone");
    out.text("role");
    out.text("master");
    out.text("modules");
    out.array(0);
}

/// `SELECT index`: only database 0 exists.
pub fn select(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match int(args[1]) {
        Some(0) => ctx.out.ok(),
        Some(_) => ctx.error("ERR DB index is out of range"),
        None => ctx.error(NOT_INTEGER),
    }
}

/// Sets the client name; false (error queued) when it has spaces or control characters.
fn set_name(ctx: &mut Ctx<'_>, name: &[u8]) -> bool {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        ctx.error("ERR Client names cannot contain spaces, newlines or special characters.");
        return false;
    }
    ctx.session.slot.lock().name = String::from_utf8_lossy(name).into_owned();
    true
}

/// `CLIENT SETNAME | GETNAME | SETINFO | ID | LIST | INFO | HELP`
pub fn client(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let sub = args[1];
    let wrong = |ctx: &mut Ctx<'_>| {
        ctx.error(&format!(
            "ERR wrong number of arguments for 'client|{}' command",
            shown(sub).to_ascii_lowercase()
        ))
    };
    if is(sub, "setname") {
        let [_, _, name] = args else {
            return wrong(ctx);
        };
        if set_name(ctx, name) {
            ctx.out.ok();
        }
    } else if is(sub, "getname") {
        let name = ctx.session.slot.lock().name.clone();
        if name.is_empty() {
            ctx.out.null();
        } else {
            ctx.out.text(&name);
        }
    } else if is(sub, "setinfo") {
        let [_, _, attr, value] = args else {
            return wrong(ctx);
        };
        let value = String::from_utf8_lossy(value).into_owned();
        if value.contains(|c: char| c == ' ' || c.is_control()) {
            return ctx.error(&format!(
                "ERR {} cannot contain spaces, newlines or special characters.",
                shown(attr)
            ));
        }
        if is(attr, "lib-name") {
            ctx.session.slot.lock().lib_name = value;
        } else if is(attr, "lib-ver") {
            ctx.session.slot.lock().lib_ver = value;
        } else {
            return ctx.error(&format!("ERR Unrecognized option '{}'", shown(attr)));
        }
        ctx.out.ok();
    } else if is(sub, "id") {
        ctx.out.int(ctx.session.id as i64);
    } else if is(sub, "list") {
        let list = ctx.shared.clients.list(None);
        ctx.out.text(&list);
    } else if is(sub, "info") {
        let line = ctx.shared.clients.list(Some(ctx.session.id));
        ctx.out.text(&line);
    } else if is(sub, "help") {
        let lines = [
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "LIST",
            "    Return information about client connections.",
            "SETINFO <option> <value>",
            "    Set client meta attr (LIB-NAME, LIB-VER).",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
        ];
        ctx.out.array(lines.len());
        for line in lines {
            ctx.out.simple(line);
        }
    } else {
        ctx.unknown_subcommand("client", sub);
    }
}

/// `RESET`: back to RESP2, unnamed, and unauthenticated when a password is set.
pub fn reset(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.out.protocol = Protocol::Resp2;
    ctx.session.authed = ctx.shared.config.password.is_none();
    {
        let mut entry = ctx.session.slot.lock();
        entry.name.clear();
        entry.resp = 2;
    }
    ctx.out.simple("RESET");
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret(b"hunter2", b"hunter2"));
        assert!(!same_secret(b"hunter", b"hunter2"));
        assert!(!same_secret(b"hunter22", b"hunter2"));
        assert!(!same_secret(b"Hunter2", b"hunter2"));
        assert!(!same_secret(b"", b"x"));
    }
}
