//! The connected clients, for `CLIENT LIST`, `INFO clients`, `--max-clients` and shutdown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

/// What the server knows about one client.
pub struct ClientEntry {
    /// Peer address.
    pub addr: String,
    /// Local address.
    pub laddr: String,
    /// When it connected.
    pub since: Instant,
    /// When it last sent a command.
    pub last_active: Instant,
    /// `CLIENT SETNAME`.
    pub name: String,
    /// `CLIENT SETINFO LIB-NAME`.
    pub lib_name: String,
    /// `CLIENT SETINFO LIB-VER`.
    pub lib_ver: String,
    /// The last command's name.
    pub last_cmd: String,
    /// RESP version.
    pub resp: u8,
}

/// One client's entry, shared by the registry and the client's own connection (which locks
/// it once per command, uncontended but for `CLIENT LIST`).
pub type ClientSlot = Arc<Mutex<ClientEntry>>;

/// The registry.
#[derive(Default)]
pub struct Clients {
    map: Mutex<BTreeMap<u64, ClientSlot>>,
}

impl Clients {
    /// Registers client `id`; `None` (and nothing registered) when `max` are connected.
    pub fn admit(&self, id: u64, addr: String, laddr: String, max: usize) -> Option<ClientSlot> {
        let mut map = self.map.lock();
        if map.len() >= max {
            return None;
        }
        let now = Instant::now();
        let slot = Arc::new(Mutex::new(ClientEntry {
            addr,
            laddr,
            since: now,
            last_active: now,
            name: String::new(),
            lib_name: String::new(),
            lib_ver: String::new(),
            last_cmd: "NULL".into(),
            resp: 2,
        }));
        map.insert(id, slot.clone());
        Some(slot)
    }

    /// Forgets client `id` (it disconnected).
    pub fn remove(&self, id: u64) {
        self.map.lock().remove(&id);
    }

    /// Clients connected now.
    pub fn count(&self) -> usize {
        self.map.lock().len()
    }

    /// `CLIENT LIST` lines of every client (or of `only`).
    pub fn list(&self, only: Option<u64>) -> String {
        let map = self.map.lock();
        let mut out = String::new();
        for (id, slot) in map.iter().filter(|(id, _)| only.is_none_or(|o| o == **id)) {
            let c = slot.lock();
            out.push_str(&format!(
                "id={id} addr={} laddr={} fd=-1 name={} age={} idle={} flags=N db=0 sub=0 \
                 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 obl=0 oll=0 \
                 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} \
                 lib-ver={}\n",
                c.addr,
                c.laddr,
                c.name,
                c.since.elapsed().as_secs(),
                c.last_active.elapsed().as_secs(),
                c.last_cmd,
                c.resp,
                c.lib_name,
                c.lib_ver,
            ));
        }
        out
    }
}
