//! Server commands: COMMAND, INFO, CONFIG, SAVE, BGSAVE, LASTSAVE, SHUTDOWN, TIME.

use std::sync::atomic::Ordering;

use super::util::{Ctx, SYNTAX, is, shown};
use super::{COMMANDS, Spec, find};
use crate::server::glob;
use crate::server::info;
use crate::server::session::Close;

pub use crate::server::config::REDIS_VERSION;

fn command_info(ctx: &mut Ctx<'_>, spec: &Spec) {
    let out = &mut *ctx.out;
    out.array(10);
    out.text(spec.name);
    out.int(spec.arity as i64);
    out.set(spec.flags.len());
    for flag in spec.flags {
        out.simple(flag);
    }
    out.int(spec.keys.0 as i64);
    out.int(spec.keys.1 as i64);
    out.int(spec.keys.2 as i64);
    out.set(1);
    out.simple(&format!("@{}", spec.group));
    out.array(0); // tips
    out.array(0); // key specs
    out.array(0); // subcommands
}

fn command_docs(ctx: &mut Ctx<'_>, spec: &Spec) {
    let out = &mut *ctx.out;
    out.text(spec.name);
    out.map(3);
    out.text("summary");
    out.text(spec.summary);
    out.text("since");
    out.text("1.0.0");
    out.text("group");
    out.text(if spec.group == "stratacache" {
        "module"
    } else {
        spec.group
    });
}

/// `COMMAND`, `COMMAND COUNT | INFO [name...] | DOCS [name...] | LIST | HELP`
pub fn command(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(sub) = args.get(1) else {
        ctx.out.array(COMMANDS.len());
        for spec in COMMANDS {
            command_info(ctx, spec);
        }
        return;
    };
    let names = &args[2..];
    if is(sub, "count") {
        ctx.out.int(COMMANDS.len() as i64);
    } else if is(sub, "list") {
        ctx.out.array(COMMANDS.len());
        for spec in COMMANDS {
            ctx.out.text(spec.name);
        }
    } else if is(sub, "info") {
        let specs: Vec<Option<&Spec>> = if names.is_empty() {
            COMMANDS.iter().map(Some).collect()
        } else {
            names.iter().map(|n| find(n)).collect()
        };
        ctx.out.array(specs.len());
        for spec in specs {
            match spec {
                Some(spec) => command_info(ctx, spec),
                None => ctx.out.null_array(),
            }
        }
    } else if is(sub, "docs") {
        let specs: Vec<&Spec> = if names.is_empty() {
            COMMANDS.iter().collect()
        } else {
            names.iter().filter_map(|n| find(n)).collect()
        };
        ctx.out.map(specs.len());
        for spec in specs {
            command_docs(ctx, spec);
        }
    } else if is(sub, "help") {
        ctx.out.array(1);
        ctx.out
            .simple("COMMAND [COUNT | DOCS [name ...] | INFO [name ...] | LIST]");
    } else {
        ctx.unknown_subcommand("command", sub);
    }
}

/// `INFO [section ...]`
pub fn info(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let sections: Vec<String> = args[1..]
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let text = info::render(ctx.shared, &sections);
    ctx.out.text(&text);
}

/// The parameters `CONFIG GET` knows, with their values.
fn config_values(ctx: &Ctx<'_>) -> Vec<(&'static str, String)> {
    let shared = ctx.shared;
    let always = shared.durable_writes();
    vec![
        ("appendonly", if always { "yes" } else { "no" }.into()),
        (
            "appendfsync",
            if always { "always" } else { "everysec" }.into(),
        ),
        ("save", String::new()),
        ("databases", "1".into()),
        ("maxclients", shared.config.max_clients.to_string()),
        ("maxmemory", shared.memory_budget.to_string()),
        ("maxmemory-policy", "allkeys-lru".into()),
        ("timeout", "0".into()),
        ("dir", shared.dir.display().to_string()),
        ("unixsocket", shared.socket_path.display().to_string()),
        ("unixsocketperm", "600".into()),
    ]
}

/// `CONFIG GET pattern [pattern ...] | SET | RESETSTAT | HELP` (read-only settings)
pub fn config(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let sub = args[1];
    if is(sub, "get") {
        if args.len() < 3 {
            return ctx.error("ERR wrong number of arguments for 'config|get' command");
        }
        let values = config_values(ctx);
        let matched: Vec<&(&str, String)> = values
            .iter()
            .filter(|(name, _)| {
                args[2..]
                    .iter()
                    .any(|p| glob::matches(&p.to_ascii_lowercase(), name.as_bytes()))
            })
            .collect();
        ctx.out.map(matched.len());
        for (name, value) in matched {
            ctx.out.text(name);
            ctx.out.text(value);
        }
    } else if is(sub, "set") {
        let name = args.get(2).map(|n| shown(n)).unwrap_or_default();
        ctx.error(&format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - stratacache is configured on its command line"
        ));
    } else if is(sub, "resetstat") {
        ctx.out.ok();
    } else if is(sub, "help") {
        ctx.out.array(1);
        ctx.out.simple("CONFIG GET <pattern>");
    } else {
        ctx.unknown_subcommand("config", sub);
    }
}

/// `SAVE`: returns once everything written before it is durable.
pub fn save(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    match ctx.shared.save() {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.fail(&e),
    }
}

/// `BGSAVE [SCHEDULE]`: a `SAVE` on another thread.
pub fn bgsave(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if args.len() > 2 || args.get(1).is_some_and(|a| !is(a, "schedule")) {
        return ctx.error(SYNTAX);
    }
    let shared = ctx.shared;
    if shared.bgsave_running.swap(true, Ordering::SeqCst) {
        return ctx.error("ERR Background save already in progress");
    }
    let (cache, running, last_save) = (
        shared.cache.clone(),
        shared.bgsave_running.clone(),
        shared.last_save.clone(),
    );
    let spawned = std::thread::Builder::new()
        .name("sc-bgsave".into())
        .spawn(move || {
            match cache.flush() {
                Ok(()) => last_save.store(crate::server::shared::unix_secs(), Ordering::Relaxed),
                Err(e) => log::error!("stratacache serve: BGSAVE failed: {e}"),
            }
            running.store(false, Ordering::SeqCst);
        });
    match spawned {
        Ok(_) => ctx.out.simple("Background saving started"),
        Err(e) => {
            shared.bgsave_running.store(false, Ordering::SeqCst);
            ctx.error(&format!("ERR could not start the background save: {e}"));
        }
    }
}

/// `LASTSAVE`
pub fn lastsave(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.out
        .int(ctx.shared.last_save.load(Ordering::Relaxed) as i64);
}

/// `SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE]`: the server stops taking connections, lets
/// every client finish what it sent, flushes, removes its socket and exits. The store is
/// closed cleanly either way (`NOSAVE` changes nothing: closing makes every write durable).
pub fn shutdown(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let known = ["nosave", "save", "now", "force"];
    if args[1..].iter().any(|a| !known.iter().any(|k| is(a, k))) {
        return ctx.error(SYNTAX);
    }
    ctx.shared.shutdown.request();
    ctx.session.close = Close::Now;
}

/// `TIME`: [unix seconds, microseconds].
pub fn time(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.text(&now.as_secs().to_string());
    ctx.out.text(&now.subsec_micros().to_string());
}
