//! The invalidation channel: publishing happens in the tier's pipelines; this is the
//! subscriber, a background thread that hands every other cache's change to a callback.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::cache::tier::redis::config::RedisConfig;
use crate::cache::tier::redis::messages::{Remote, decode};
use crate::cache::tier::redis::target::{Target, user_of};

/// Receives the changes other caches announce.
pub type RemoteHook = Box<dyn Fn(Remote) + Send + Sync>;

/// How long a blocked read waits before checking whether to stop.
const POLL: Duration = Duration::from_millis(200);
/// Wait between reconnection attempts.
const RECONNECT: Duration = Duration::from_millis(250);

/// Starts the subscriber thread and waits (up to the connect plus the command timeout)
/// until it is subscribed, so that no change announced after the cache opened is missed.
/// If it is not subscribed by then (Redis down or slow), its first subscription counts as a
/// gap: values read from Redis in the meantime may have been changed unannounced. It stops
/// soon after `stop` is set.
pub fn spawn_subscriber(
    config: &RedisConfig,
    instance: u64,
    hook: Arc<OnceLock<RemoteHook>>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let (subscribed_tx, subscribed_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let wait = config.connect_timeout + config.command_timeout;
    // Pub/sub messages reach every node of a cluster, so one node is enough. With Sentinel
    // each reconnection asks for the master again, so the subscription follows a failover.
    let target = subscriber_target(config)?;
    let user = user_of(config);
    let channel = config.channel();
    let connect_timeout = config.connect_timeout;
    std::thread::Builder::new()
        .name("stratacache-redis-sub".into())
        .spawn(move || {
            let mut subscribed_before = false;
            while !stop.load(Ordering::Relaxed) {
                let result = listen(
                    &target,
                    &user,
                    &channel,
                    connect_timeout,
                    &stop,
                    &mut || {
                        // The first time, tell `open`; if it stopped waiting, the cache may
                        // already hold values whose changes it did not hear about.
                        let missed = subscribed_before || subscribed_tx.send(()).is_err();
                        // Messages sent while we were not listening are lost: say so.
                        if missed && let Some(hook) = hook.get() {
                            hook(Remote::Gap);
                        }
                        subscribed_before = true;
                    },
                    &mut |bytes| match decode(bytes) {
                        Ok((sender, _)) if sender == instance => {}
                        Ok((_, change)) => {
                            if let Some(hook) = hook.get() {
                                hook(change);
                            }
                        }
                        Err(e) => log::warn!("stratacache: ignoring a message on {channel:?}: {e}"),
                    },
                );
                if let Err(e) = result {
                    log::debug!("stratacache: invalidation subscriber: {e}; reconnecting");
                    std::thread::sleep(RECONNECT);
                }
            }
        })?;
    if subscribed_rx.recv_timeout(wait).is_err() {
        log::warn!(
            "stratacache: not subscribed to the invalidation channel within {wait:?}; opening anyway"
        );
    }
    // Dropping the receiver tells a late first subscription that `open` stopped waiting.
    Ok(())
}

/// Subscribes and delivers messages until `stop` or an error.
#[allow(clippy::too_many_arguments)]
fn listen(
    target: &Target,
    user: &str,
    channel: &str,
    connect_timeout: Duration,
    stop: &AtomicBool,
    on_subscribed: &mut dyn FnMut(),
    on_message: &mut dyn FnMut(&[u8]),
) -> redis::RedisResult<()> {
    let mut conn = target.connect(connect_timeout, user)?;
    let mut pubsub = conn.as_pubsub();
    pubsub.set_read_timeout(Some(POLL))?;
    pubsub.subscribe(channel)?;
    on_subscribed();
    while !stop.load(Ordering::Relaxed) {
        match pubsub.get_message() {
            Ok(msg) => on_message(msg.get_payload_bytes()),
            Err(e) if e.is_timeout() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Where the subscriber connects: the standalone server or Sentinel's master, or for a
/// Cluster its first seed node (with the same credentials and TLS).
fn subscriber_target(config: &RedisConfig) -> std::io::Result<Target> {
    let target = if config.cluster {
        let mut single = config.clone();
        single.cluster = false;
        single.urls.truncate(1);
        Target::new(&single)
    } else {
        Target::new(config)
    };
    target.map_err(std::io::Error::other)
}
