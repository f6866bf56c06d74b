//! The command line, as clap structs: global options and one variant per command.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use stratacache::EvictionPolicy;

use crate::units::{parse_size, parse_ttl};

/// Store, inspect and export large values (OCR results, documents) in a persistent disk cache.
#[derive(Debug, Parser)]
#[command(
    name = "stratacache",
    version,
    propagate_version = true,
    arg_required_else_help = true,
    after_help = "\
Exit codes: 0 ok, 1 not found, 2 error, 3 corruption found, 4 store busy.

Example:
  stratacache --dir /var/cache/ocr --capacity 64GiB import ./ocr-out --prefix scans/
  stratacache --dir /var/cache/ocr ls --long --prefix scans/2024/",
    mut_subcommands = short_capacity_help
)]
pub struct Cli {
    /// The store directory [default: $STRATACACHE_DIR, else ./.stratacache]
    #[arg(
        long = "dir",
        global = true,
        value_name = "DIR",
        env = "STRATACACHE_DIR",
        default_value = ".stratacache",
        hide_default_value = true,
        hide_env = true
    )]
    pub store_dir: PathBuf,

    /// Capacity of the store, e.g. 64MiB, 10GiB [default for a new store: 10GiB]
    ///
    /// Bytes the store may keep on disk, segments and index together: 67108864, 512KiB,
    /// 64MiB (or 64M), 10GiB (or 10G); KB/MB/GB are decimal. Sets the capacity when the
    /// store is created; given to a command that writes (put, import, rm, expire, compact...),
    /// changes it for an existing store: a smaller one evicts down to it at once and says
    /// what it evicted. Reading never changes a store.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    pub capacity: Option<u64>,

    /// How eviction picks what goes when the store is full: s3-fifo (default: new entries
    /// wait on probation, a tenth of the capacity, so scans and one-time reads do not push
    /// out what is read again) or lru
    #[arg(long, global = true, value_name = "POLICY", value_parser = parse_policy)]
    pub eviction_policy: Option<EvictionPolicy>,

    /// Anonymous memory the store's bookkeeping may take (index cache, location cache,
    /// staged index changes, eviction tables), e.g. 64MiB [default: 128MiB; at least 4MiB]
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    pub memory_budget: Option<u64>,

    /// Wait up to this long for a store another process holds, e.g. 30s (else exit 4)
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_ttl)]
    pub wait: Option<Duration>,

    /// Make a new store readable and writable by its group (0770/0660), not owner only
    #[arg(long, global = true)]
    pub shared_group: bool,

    /// Largest value put and import store, e.g. 256MiB (below 4GiB) [default: 64MiB]
    #[arg(
        long,
        global = true,
        value_name = "SIZE",
        value_parser = parse_value_limit,
        default_value_t = stratacache::limits::DEFAULT_MAX_VALUE_SIZE as u64,
        hide_default_value = true
    )]
    pub max_value_size: u64,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--capacity` as every command's help shows it: one line. Its long text (how sizes are
/// written, what a change does) stays in `stratacache --help` instead of being repeated in
/// the help of each command. clap copies a global option into each subcommand unless the
/// subcommand already has an argument with its id; this is that argument, parsed the same
/// way, and clap hands its value to `Cli::capacity` like the global one's.
fn short_capacity_help(command: clap::Command) -> clap::Command {
    command.arg(
        clap::Arg::new("capacity")
            .long("capacity")
            .value_name("SIZE")
            .value_parser(parse_size)
            .help("Capacity of the store, e.g. 64MiB, 10GiB (details: stratacache --help)"),
    )
}

/// Parses `--max-value-size`: a size of at least 1 byte and below 4 GiB (a record stores
/// lengths in 32 bits).
fn parse_value_limit(text: &str) -> Result<u64, String> {
    match parse_size(text)? {
        0 => Err("the value limit must be at least 1 byte".into()),
        n if n >= 1 << 32 => Err("the value limit must be below 4GiB".into()),
        n => Ok(n),
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store FILE (or standard input) under KEY; creates the store if needed.
    #[command(after_help = "\
Examples:
  stratacache put scans/0001.txt ocr/0001.txt
  tesseract page.png - | stratacache put scans/page.txt --ttl 7d")]
    Put(PutArgs),

    /// Write the value of KEY to standard output or a file; exit 1 if absent.
    #[command(after_help = "\
Examples:
  stratacache get scans/0001.txt
  stratacache get scans/0001.txt -o page.txt")]
    Get(GetArgs),

    /// Remove keys (or every key under a prefix); exit 1 if a key named was not there.
    #[command(after_help = "\
Examples:
  stratacache rm scans/0001.txt scans/0002.txt
  stratacache rm --prefix tmp/")]
    Rm(RmArgs),

    /// Show the time KEY has left, e.g. 59m 59s, or none when it never expires; exit 1 if absent.
    #[command(after_help = "Example:\n  stratacache ttl scans/0001.txt")]
    Ttl(KeyArgs),

    /// Make KEY expire after DURATION (the value is not rewritten); exit 1 if absent.
    #[command(after_help = "Example:\n  stratacache expire scans/0001.txt 7d")]
    Expire(ExpireArgs),

    /// Remove the expiry of KEY (the value is not rewritten); exit 1 if absent.
    #[command(after_help = "Example:\n  stratacache persist scans/0001.txt")]
    Persist(KeyArgs),

    /// Retire every value stored with one of these tags (put --tag), at once.
    #[command(after_help = "\
Example:
  stratacache put doc-7/page-1.txt page1.txt --tag doc:7
  stratacache invalidate-tag doc:7      # every value tagged doc:7 is gone")]
    InvalidateTag(TagArgs),

    /// List keys, one per line (long: size, stored size, remaining TTL, key).
    #[command(after_help = "\
Keys are shown as UTF-8 (invalid bytes replaced), except with -0: then each key is written
as its stored bytes and ends with a NUL byte instead of a newline, so keys holding a
newline or any other byte are safe to pass on with xargs -0.

Examples:
  stratacache ls --prefix scans/
  stratacache ls --long
  stratacache ls --json | jq '.[].key'
  stratacache ls -0 --prefix tmp/ | xargs -0 stratacache rm")]
    Ls(LsArgs),

    /// Store every regular file under DIR, key = prefix + relative path; creates the store.
    #[command(after_help = "\
Files larger than the value limit (--max-value-size, 64 MiB by default) are skipped and
unreadable files are reported; the import goes on, and exits 2 at the end if any file was
skipped for its size or failed. An error of the store itself (a full disk) stops the
import; what was stored before it is kept. The summary says how many entries the import
evicted, and warns when imported files were evicted again to stay within the capacity.
With --key-by-hash the key is the prefix plus the BLAKE3 hash of the content, and
\"KEY<TAB>PATH\" lines go to stdout.

Examples:
  stratacache import ./ocr-out --prefix scans/ --ttl 30d
  stratacache import ./ocr-out --prefix scans/ --skip-existing   # resume
  stratacache import ./ocr-out --prefix blobs/ --key-by-hash > index.tsv")]
    Import(ImportArgs),

    /// Write every live entry to DIR/<key>, creating directories as needed.
    #[command(after_help = "\
These keys are refused and reported, and the others exported: a key that would escape DIR
(a leading '/', a '.' or '..' component, an empty component as in 'a//b' or a trailing
'/', a NUL byte), a path through a symbolic link already in DIR (links are never
followed), a key whose path is both a file and a directory ('a' and 'a/b'), and a path
inside the store itself. Exit 2 at the end if any entry could not be written.

Example:
  stratacache export ./restored --prefix scans/")]
    Export(ExportArgs),

    /// Show sizes and lifetime counters.
    #[command(after_help = "Examples:\n  stratacache stats\n  stratacache stats --json")]
    Stats(JsonArgs),

    /// Check the CRC of every record; exit 3 if any is bad.
    #[command(after_help = "\
Examples:
  stratacache verify
  stratacache verify --repair   # also remove the bad entries (still exits 3)")]
    Verify(VerifyArgs),

    /// Rewrite sparse segments now so disk usage tracks live data.
    #[command(after_help = "Example:\n  stratacache compact")]
    Compact(CompactArgs),

    /// Delete expired entries now.
    #[command(after_help = "Example:\n  stratacache sweep")]
    Sweep,

    /// Serve the store over the Redis protocol on DIR/stratacache.sock (and TCP if asked).
    #[command(after_help = "\
Any Redis client can use the store while the server runs: redis-cli -s DIR/stratacache.sock,
redis-py's Redis(unix_socket_path=...), or TCP with --listen. Every other stratacache command
on DIR goes through the server while it runs. SIGTERM, SIGINT or a client's SHUTDOWN stop
it: it answers what clients sent, flushes, removes the socket and exits 0.

Examples:
  stratacache --dir /var/cache/ocr serve --memory 1GiB
  stratacache --dir /var/cache/ocr serve --listen 127.0.0.1:6380 --durability always
  STRATACACHE_PASSWORD=s3cret stratacache --dir D serve --listen 0.0.0.0:6380
  stratacache --dir D serve --redis rediss://redis.internal:6380 --redis-tls-ca ca.pem \\
      --redis-user ocr --redis-password-file /run/secrets/redis
  stratacache --dir D serve --redis-master mymaster \\
      --redis-sentinel redis://10.0.0.1:26379 --redis-sentinel redis://10.0.0.2:26379")]
    Serve(Box<ServeArgs>),
}

impl Command {
    /// Whether the command may create a missing store (`put`, `import`, `serve`).
    pub fn creates_store(&self) -> bool {
        matches!(
            self,
            Command::Put(_) | Command::Import(_) | Command::Serve(_)
        )
    }

    /// Whether the command changes the store (only these may change its capacity: reading
    /// never changes a store).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Command::Put(_)
                | Command::Import(_)
                | Command::Rm(_)
                | Command::Expire(_)
                | Command::Persist(_)
                | Command::InvalidateTag(_)
                | Command::Compact(_)
                | Command::Sweep
                | Command::Serve(_)
        )
    }

    /// The command's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Put(_) => "put",
            Command::Get(_) => "get",
            Command::Rm(_) => "rm",
            Command::Ttl(_) => "ttl",
            Command::Expire(_) => "expire",
            Command::Persist(_) => "persist",
            Command::InvalidateTag(_) => "invalidate-tag",
            Command::Ls(_) => "ls",
            Command::Import(_) => "import",
            Command::Export(_) => "export",
            Command::Stats(_) => "stats",
            Command::Verify(_) => "verify",
            Command::Compact(_) => "compact",
            Command::Sweep => "sweep",
            Command::Serve(_) => "serve",
        }
    }
}

/// Arguments of `put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// The key.
    pub key: OsString,
    /// The file to store; standard input when absent or `-`.
    pub file: Option<PathBuf>,
    /// Expire after this long: 1500ms, 90s, 15m, 12h, 7d (no expiry by default).
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub ttl: Option<Duration>,
    /// Tag the value (repeatable); invalidate-tag TAG retires every value carrying it.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
}

/// Arguments of `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The key.
    pub key: OsString,
    /// Write the value to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The stored bytes as they are, also for a value the cache wrote as MessagePack (shown
    /// as JSON otherwise).
    #[arg(long)]
    pub raw: bool,
}

/// Arguments of `rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The keys.
    #[arg(required_unless_present = "prefix")]
    pub keys: Vec<OsString>,
    /// Also remove every key starting with this (and say how many went).
    #[arg(long, value_name = "P")]
    pub prefix: Option<OsString>,
}

/// Arguments of commands that take one key.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The key.
    pub key: OsString,
}

/// Arguments of `expire`.
#[derive(Debug, Args)]
pub struct ExpireArgs {
    /// The key.
    pub key: OsString,
    /// Time from now: 1500ms, 90s, 15m, 12h, 7d.
    #[arg(value_name = "DURATION", value_parser = parse_ttl)]
    pub ttl: Duration,
}

/// Arguments of `invalidate-tag`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// The tags.
    #[arg(required = true, value_name = "TAG")]
    pub tags: Vec<String>,
}

/// Arguments of `ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only keys starting with this.
    #[arg(long, value_name = "P", default_value = "")]
    pub prefix: OsString,
    /// Add columns: size, stored size, remaining TTL (`-` for none), then the key.
    #[arg(short, long, conflicts_with = "json")]
    pub long: bool,
    /// A JSON array of {key, size, stored_size, expires_in_ms}.
    #[arg(long)]
    pub json: bool,
    /// End each key with a NUL byte, not a newline, for xargs -0 (keys as stored bytes).
    #[arg(short = '0', long = "null", conflicts_with = "json")]
    pub null: bool,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The directory to import.
    #[arg(value_name = "DIR")]
    pub source: PathBuf,
    /// Put this before every key.
    #[arg(long, value_name = "P", default_value = "")]
    pub prefix: OsString,
    /// Expire every imported entry after this long (ms, s, m, h, d).
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub ttl: Option<Duration>,
    /// Skip files whose key is already in the store (resumes an interrupted import).
    #[arg(long)]
    pub skip_existing: bool,
    /// Key = prefix + hex BLAKE3 hash of the content: identical files are stored once.
    #[arg(long)]
    pub key_by_hash: bool,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The directory to write into (created if missing).
    #[arg(value_name = "DIR")]
    pub target: PathBuf,
    /// Only keys starting with this (files are still named by the full key).
    #[arg(long, value_name = "P", default_value = "")]
    pub prefix: OsString,
}

/// Arguments of commands whose only option is `--json`.
#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print the report as JSON: {checked, bad: [{key, segment, offset, reason}]}.
    #[arg(long)]
    pub json: bool,
    /// Also remove the bad entries (the exit code is still 3).
    #[arg(long)]
    pub repair: bool,
}

/// When `serve` answers a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DurabilityArg {
    /// At once; durable within about a second (the checkpoint), or at SAVE.
    Checkpoint,
    /// Only once durable (group commit across clients).
    Always,
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Also listen on this TCP address (repeatable); off loopback only with a password.
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Vec<std::net::SocketAddr>,
    /// Bytes the memory tier may hold, e.g. 256MiB, 2GiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "256MiB")]
    pub memory: u64,
    /// Most clients connected at once; the next gets "max number of clients reached".
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_clients: usize,
    /// When writes are answered.
    #[arg(long, value_enum, default_value_t = DurabilityArg::Checkpoint)]
    pub durability: DurabilityArg,
    /// Read the password clients must give (AUTH) from this file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "password_env")]
    pub password_file: Option<PathBuf>,
    /// The password clients must give (AUTH); prefer --password-file on shared machines.
    #[arg(long = "password-from-env", env = "STRATACACHE_PASSWORD", hide = true)]
    pub password_env: Option<String>,
    /// Worker threads serving clients [default: half the cores, at least 1]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Disconnect a client that has not read its replies for this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl, default_value = "30s")]
    pub reply_timeout: Duration,
    /// The Redis tier.
    #[command(flatten)]
    pub redis: crate::redis_args::RedisArgs,
}

/// Arguments of `compact`.
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Rewrite every segment, not only the sparse ones.
    #[arg(long)]
    pub all: bool,
}

/// `--eviction-policy`: `s3-fifo` or `lru`.
fn parse_policy(text: &str) -> Result<EvictionPolicy, String> {
    text.parse()
}
