//! `serve`: open the tiered cache on the store and serve it over the Redis protocol until
//! SIGTERM, SIGINT or `SHUTDOWN`.

use std::path::Path;

use stratacache::server::{Durability, RunningServer, ServerConfig, socket_path};
use stratacache::{Cache, DiskStore, Sharing};

use crate::cli::{DurabilityArg, ServeArgs};
use crate::exit::{CmdResult, Fatal, Outcome};
use crate::secrets::read_secret;

/// The store's settings from the global options.
pub struct StoreOptions {
    /// `--capacity`.
    pub capacity: Option<u64>,
    /// `--eviction-policy`.
    pub eviction_policy: Option<stratacache::EvictionPolicy>,
    /// `--memory-budget`.
    pub memory_budget: Option<u64>,
    /// `--max-value-size`.
    pub max_value_size: u64,
    /// `--shared-group`.
    pub shared_group: bool,
}

fn password(args: &ServeArgs) -> Result<Option<String>, Fatal> {
    read_secret(
        args.password_file.as_deref(),
        args.password_env.as_ref(),
        "STRATACACHE_PASSWORD",
        "the password",
    )
}

/// The builder with the Redis tier `--redis` asks for.
#[cfg(feature = "redis")]
fn with_redis(
    builder: stratacache::CacheBuilder,
    args: &ServeArgs,
) -> Result<stratacache::CacheBuilder, Fatal> {
    Ok(match args.redis.config()? {
        Some(config) => {
            eprintln!("stratacache: Redis tier at {config}");
            builder.redis_config(config)
        }
        None => builder,
    })
}

/// Without the `redis` feature a Redis tier cannot be had: say so.
#[cfg(not(feature = "redis"))]
fn with_redis(
    builder: stratacache::CacheBuilder,
    args: &ServeArgs,
) -> Result<stratacache::CacheBuilder, Fatal> {
    if args.redis.wanted() {
        return Err(Fatal::msg(
            "this stratacache was built without the Redis tier; build it with --features redis",
        ));
    }
    Ok(builder)
}

/// Runs the server on the store in `dir`; returns after a clean shutdown.
pub fn run(dir: &Path, store: StoreOptions, args: ServeArgs) -> CmdResult {
    let config = ServerConfig {
        listen: args.listen.clone(),
        password: password(&args)?,
        max_clients: args.max_clients.max(1),
        durability: match args.durability {
            DurabilityArg::Checkpoint => Durability::Checkpoint,
            DurabilityArg::Always => Durability::Always,
        },
        reply_timeout: args.reply_timeout,
        threads: args.threads,
        ..Default::default()
    };
    let is_new = !dir.join("index.redb").exists();
    let mut disk = DiskStore::builder(dir)
        .create(true)
        .max_value_size(store.max_value_size as usize)
        .sharing(if store.shared_group {
            Sharing::Group
        } else {
            Sharing::Owner
        });
    if let Some(bytes) = store.capacity.filter(|_| is_new) {
        disk = disk.capacity_bytes(bytes);
    }
    if let Some(policy) = store.eviction_policy {
        disk = disk.eviction_policy(policy);
    }
    if let Some(bytes) = store.memory_budget {
        disk = disk.memory_budget(bytes);
    }
    let cache = with_redis(Cache::builder().memory(args.memory).disk(disk), &args)?.open()?;
    if let Some(bytes) = store.capacity.filter(|_| !is_new)
        && let Some(disk) = cache.disk_store()
    {
        disk.set_capacity(bytes)?;
    }
    let server = RunningServer::start(cache, dir, config, args.memory)?;
    let handle = server.shutdown_handle();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ])
    .map_err(|e| Fatal::msg(format!("cannot handle signals: {e}")))?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            handle.shutdown();
        }
    });
    let tcp: Vec<String> = server.tcp_addrs().iter().map(|a| a.to_string()).collect();
    eprintln!(
        "stratacache: serving {} on {}{}{} (stop with Ctrl-C, SIGTERM or SHUTDOWN)",
        dir.display(),
        socket_path(dir).display(),
        if tcp.is_empty() { "" } else { " and " },
        tcp.join(", ")
    );
    let cache = server.wait()?;
    cache.close()?;
    eprintln!("stratacache: server stopped; everything it acknowledged is on disk");
    Ok(Outcome::Done)
}
