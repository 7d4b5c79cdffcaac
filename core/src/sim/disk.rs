//! The disk model of one node: a page cache in front of durable storage.
//!
//! Each file is a sequence of 4 KiB pages shared behind `Rc`, so a checkpoint of the whole
//! simulation copies pointers, not bytes, and a page is copied only when written after being
//! shared (copy on write). A file has two versions:
//! - the **page cache**: what the process reads and writes (an mmap'd file, the OS cache);
//! - the **durable** copy: what the device holds after the last completed sync.
//!
//! A sync snapshots the page cache when it is issued and makes that snapshot durable when it
//! completes, after a latency drawn from the node's disk stream. Crash kinds then differ only in
//! what they keep: a process kill keeps the page cache (the OS survives); a power loss keeps the
//! durable copy plus, like a real OS writing back in order, a random prefix of the dirty pages
//! whose last page may be cut at a 512-byte sector (a torn record); a disk loss keeps nothing.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::prng::Prng;
use crate::time::{Duration, Time};

pub const PAGE_SIZE: u64 = 4_096;
pub const SECTOR_SIZE: u64 = 512;
/// At most this many dirty pages are written back by the OS on its own before a power loss.
const MAX_WRITEBACK_PAGES_ON_POWER_LOSS: u64 = 4;

type Page = [u8; PAGE_SIZE as usize];

/// A file handle, valid until the file is deleted. Never reused within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FileId(pub u32);

/// Pages per chunk: a version of a file is a list of shared chunks of page slots, so taking a snapshot
/// (a sync) copies one pointer per chunk instead of one per page, and comparing two versions skips every
/// chunk they still share. Only the cost changes: which pages differ is decided page by page as before.
const CHUNK: usize = 64;

type Chunk = [Option<Rc<Page>>; CHUNK];

/// The bytes of one version of a file: sparse pages (an absent page reads as zeros).
#[derive(Clone, Debug, Default)]
struct Pages {
    chunks: Vec<Rc<Chunk>>,
    len: u64,
}

impl Pages {
    fn slot(&self, index: usize) -> Option<&Rc<Page>> {
        self.chunks.get(index / CHUNK).and_then(|chunk| chunk[index % CHUNK].as_ref())
    }

    fn page_mut(&mut self, index: usize) -> &mut Page {
        let c = index / CHUNK;
        if self.chunks.len() <= c {
            self.chunks.resize_with(c + 1, || Rc::new(std::array::from_fn(|_| None)));
        }
        let chunk = Rc::make_mut(&mut self.chunks[c]);
        let page = chunk[index % CHUNK].get_or_insert_with(|| Rc::new([0u8; PAGE_SIZE as usize]));
        Rc::make_mut(page)
    }

    fn write(&mut self, offset: u64, bytes: &[u8]) {
        let mut position = offset;
        let mut rest = bytes;
        while !rest.is_empty() {
            let in_page = (position % PAGE_SIZE) as usize;
            let take = rest.len().min(PAGE_SIZE as usize - in_page);
            let page = self.page_mut((position / PAGE_SIZE) as usize);
            page[in_page..in_page + take].copy_from_slice(&rest[..take]);
            position += take as u64;
            rest = &rest[take..];
        }
        self.len = self.len.max(offset + bytes.len() as u64);
    }

    fn read(&self, offset: u64, out: &mut [u8]) {
        let mut position = offset;
        let mut filled = 0;
        while filled < out.len() {
            let in_page = (position % PAGE_SIZE) as usize;
            let take = (out.len() - filled).min(PAGE_SIZE as usize - in_page);
            match self.slot((position / PAGE_SIZE) as usize) {
                Some(page) => out[filled..filled + take].copy_from_slice(&page[in_page..in_page + take]),
                None => out[filled..filled + take].fill(0),
            }
            position += take as u64;
            filled += take;
        }
    }

    fn truncate(&mut self, len: u64) {
        if len >= self.len {
            return;
        }
        let keep_pages = len.div_ceil(PAGE_SIZE) as usize;
        self.chunks.truncate(keep_pages.div_ceil(CHUNK));
        let kept_in_last = keep_pages % CHUNK;
        if kept_in_last != 0 {
            if let Some(last) = self.chunks.last_mut() {
                if last[kept_in_last..].iter().any(Option::is_some) {
                    Rc::make_mut(last)[kept_in_last..].fill(None);
                }
            }
        }
        let tail = (len % PAGE_SIZE) as usize;
        if tail != 0 && self.slot(keep_pages - 1).is_some() {
            self.page_mut(keep_pages - 1)[tail..].fill(0);
        }
        self.len = len;
    }

    fn same_page(&self, other: &Pages, index: usize) -> bool {
        match (self.slot(index), other.slot(index)) {
            (None, None) => true,
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn resident_pages(&self) -> u64 {
        self.chunks.iter().map(|chunk| chunk.iter().filter(|p| p.is_some()).count() as u64).sum()
    }
}

#[derive(Clone, Debug)]
struct DiskFile {
    name: String,
    cache: Pages,
    durable: Pages,
    /// The id of the sync whose snapshot is the durable copy: an older sync finishing later
    /// (possible when a restarted process's sync overtakes one queued before a kill) never
    /// replaces a newer durable copy.
    durable_sync_id: Option<u64>,
}

impl DiskFile {
    /// Pages whose cached content differs from the durable copy, in file order.
    fn dirty_pages(&self) -> Vec<usize> {
        let chunks = self.cache.chunks.len().max(self.durable.chunks.len());
        let mut dirty = Vec::new();
        for c in 0..chunks {
            if let (Some(a), Some(b)) = (self.cache.chunks.get(c), self.durable.chunks.get(c)) {
                if Rc::ptr_eq(a, b) {
                    continue;
                }
            }
            dirty.extend((c * CHUNK..(c + 1) * CHUNK).filter(|&i| !self.cache.same_page(&self.durable, i)));
        }
        dirty
    }
}

/// Timing of a node's disk; the scenario sets it, faults can slow it down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskConfig {
    /// Fixed cost of one sync (fsync/msync) call.
    pub sync_base: Duration,
    /// Cost per dirty page written by a sync.
    pub per_dirty_page: Duration,
    /// Random extra latency per sync, uniform in `0..=jitter`.
    pub jitter: Duration,
}

impl Default for DiskConfig {
    /// Roughly a datacenter SSD: ~0.5 ms per fsync plus ~10 µs per 4 KiB page.
    fn default() -> Self {
        DiskConfig {
            sync_base: Duration::from_micros(500),
            per_dirty_page: Duration::from_micros(10),
            jitter: Duration::from_micros(200),
        }
    }
}

/// How a node went down; decides what its disk keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CrashKind {
    /// `kill -9`: the process dies, the OS and its page cache survive.
    ProcessKill,
    /// The machine loses power: only synced bytes (and what the OS happened to write back) survive.
    PowerLoss,
    /// The disk is gone: nothing survives.
    DiskLoss,
}

/// A sync in progress: the snapshot that becomes durable when it completes.
#[derive(Clone, Debug)]
pub struct PendingSync {
    pub id: u64,
    pub file: FileId,
    snapshot: Pages,
}

/// One node's files, page cache and durable copies.
#[derive(Clone, Debug, Default)]
pub struct NodeDisk {
    files: BTreeMap<FileId, DiskFile>,
    by_name: BTreeMap<String, FileId>,
    next_file_id: u32,
    pub config: DiskConfig,
    /// Multiplies sync latency (a "slow disk" fault sets it above 1).
    pub slowdown_factor: u64,
    /// When the device finishes the syncs already queued (syncs are served one at a time).
    busy_until: Time,
    next_sync_id: u64,
}

impl NodeDisk {
    pub fn new(config: DiskConfig) -> NodeDisk {
        NodeDisk { config, slowdown_factor: 1, ..NodeDisk::default() }
    }

    pub fn open(&mut self, name: &str) -> FileId {
        if let Some(id) = self.by_name.get(name) {
            return *id;
        }
        let id = FileId(self.next_file_id);
        self.next_file_id += 1;
        self.by_name.insert(name.to_string(), id);
        let file = DiskFile {
            name: name.to_string(),
            cache: Pages::default(),
            durable: Pages::default(),
            durable_sync_id: None,
        };
        self.files.insert(id, file);
        id
    }

    pub fn lookup(&self, name: &str) -> Option<FileId> {
        self.by_name.get(name).copied()
    }

    /// File names in lexical order, with their ids (RocketMQ sorts its files by name on load).
    pub fn list(&self, prefix: &str) -> Vec<(String, FileId)> {
        self.by_name
            .range(prefix.to_string()..)
            .take_while(|(name, _)| name.starts_with(prefix))
            .map(|(n, id)| (n.clone(), *id))
            .collect()
    }

    pub fn name(&self, file: FileId) -> Option<&str> {
        self.files.get(&file).map(|f| f.name.as_str())
    }

    fn file(&self, file: FileId) -> &DiskFile {
        self.files.get(&file).unwrap_or_else(|| panic!("{file:?} is not an open file"))
    }

    fn file_mut(&mut self, file: FileId) -> &mut DiskFile {
        self.files.get_mut(&file).unwrap_or_else(|| panic!("{file:?} is not an open file"))
    }

    pub fn write(&mut self, file: FileId, offset: u64, bytes: &[u8]) {
        self.file_mut(file).cache.write(offset, bytes);
    }

    /// Fill `out` from the page cache at `offset`; bytes past the end read as zeros.
    pub fn read(&self, file: FileId, offset: u64, out: &mut [u8]) {
        self.file(file).cache.read(offset, out);
    }

    pub fn read_vec(&self, file: FileId, offset: u64, len: u64) -> Vec<u8> {
        let mut out = vec![0u8; len as usize];
        self.read(file, offset, &mut out);
        out
    }

    /// Length of the file as the process sees it (the highest byte written + 1).
    pub fn len(&self, file: FileId) -> u64 {
        self.file(file).cache.len
    }

    pub fn durable_len(&self, file: FileId) -> u64 {
        self.file(file).durable.len
    }

    pub fn truncate(&mut self, file: FileId, len: u64) {
        self.file_mut(file).cache.truncate(len);
    }

    pub fn delete(&mut self, file: FileId) {
        if let Some(f) = self.files.remove(&file) {
            self.by_name.remove(&f.name);
        }
    }

    pub fn exists(&self, file: FileId) -> bool {
        self.files.contains_key(&file)
    }

    /// Pages that are in the cache but not yet durable, over all files (page-cache pressure).
    pub fn dirty_page_count(&self) -> u64 {
        self.files.values().map(|f| f.dirty_pages().len() as u64).sum()
    }

    pub fn resident_page_count(&self) -> u64 {
        self.files.values().map(|f| f.cache.resident_pages()).sum()
    }

    /// Start a sync of `file`: snapshot the cache now, and say when the device will have finished.
    pub fn begin_sync(&mut self, file: FileId, now: Time, rng: &mut Prng) -> (PendingSync, Time) {
        let f = self.file(file);
        let dirty = f.dirty_pages().len() as u64;
        let snapshot = f.cache.clone();
        let jitter = self.config.jitter.as_micros();
        let base = self.config.sync_base + self.config.per_dirty_page.saturating_mul(dirty);
        let latency = Duration(base.as_micros() + rng.between(0, jitter)).saturating_mul(self.slowdown_factor.max(1));
        let start = self.busy_until.max(now);
        self.busy_until = start + latency;
        let id = self.next_sync_id;
        self.next_sync_id += 1;
        (PendingSync { id, file, snapshot }, self.busy_until)
    }

    /// Finish a sync: its snapshot becomes the durable copy. Returns the durable length, or None if
    /// the file was deleted meanwhile.
    pub fn complete_sync(&mut self, sync: PendingSync) -> Option<u64> {
        let f = self.files.get_mut(&sync.file)?;
        if f.durable_sync_id.is_none_or(|newest| sync.id > newest) {
            f.durable = sync.snapshot;
            f.durable_sync_id = Some(sync.id);
        }
        Some(f.durable.len)
    }

    /// Apply a crash to the disk. The process's memory is the kernel's business, not the disk's.
    pub fn crash(&mut self, kind: CrashKind, rng: &mut Prng) {
        // After a process kill the device keeps working through the syncs already queued, so
        // `busy_until` stays; after power or disk loss the queue is gone with the machine.
        if kind != CrashKind::ProcessKill {
            self.busy_until = Time::ZERO;
        }
        match kind {
            CrashKind::ProcessKill => {}
            CrashKind::PowerLoss => {
                for f in self.files.values_mut() {
                    power_loss(f, rng);
                }
            }
            CrashKind::DiskLoss => {
                self.files.clear();
                self.by_name.clear();
            }
        }
    }
}

/// Keep the durable copy plus an in-order prefix of the dirty pages, the last one possibly torn.
fn power_loss(file: &mut DiskFile, rng: &mut Prng) {
    let dirty = file.dirty_pages();
    let mut survivor = file.durable.clone();
    let whole_pages = rng.below((dirty.len() as u64).min(MAX_WRITEBACK_PAGES_ON_POWER_LOSS) + 1) as usize;
    let mut written_to = survivor.len;
    for &index in &dirty[..whole_pages] {
        let mut page = [0u8; PAGE_SIZE as usize];
        file.cache.read(index as u64 * PAGE_SIZE, &mut page);
        survivor.write(index as u64 * PAGE_SIZE, &page);
        written_to = written_to.max(((index as u64 + 1) * PAGE_SIZE).min(file.cache.len));
    }
    if let Some(&index) = dirty.get(whole_pages) {
        let sectors = rng.below(PAGE_SIZE / SECTOR_SIZE);
        let start = index as u64 * PAGE_SIZE;
        let torn_len = (sectors * SECTOR_SIZE).min(file.cache.len.saturating_sub(start));
        if torn_len > 0 {
            let mut bytes = vec![0u8; torn_len as usize];
            file.cache.read(start, &mut bytes);
            survivor.write(start, &bytes);
            written_to = written_to.max(start + torn_len);
        }
    }
    survivor.len = written_to.min(file.cache.len.max(file.durable.len));
    file.durable = survivor.clone();
    file.cache = survivor;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prng::{Concern, StreamOwner};

    fn rng() -> Prng {
        Prng::stream(9, StreamOwner::Node(0), Concern::Disk)
    }

    fn synced(disk: &mut NodeDisk, file: FileId) {
        let (pending, _) = disk.begin_sync(file, Time::ZERO, &mut rng());
        disk.complete_sync(pending);
    }

    #[test]
    fn writes_are_visible_at_once_and_read_back_across_pages() {
        let mut disk = NodeDisk::new(DiskConfig::default());
        let f = disk.open("store/commitlog/00000000000000000000");
        let bytes: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        disk.write(f, 100, &bytes);
        assert_eq!(disk.read_vec(f, 100, 10_000), bytes);
        assert_eq!(disk.len(f), 10_100);
        assert_eq!(disk.read_vec(f, 0, 4), [0, 0, 0, 0]);
    }

    #[test]
    fn process_kill_keeps_the_page_cache() {
        let mut disk = NodeDisk::new(DiskConfig::default());
        let f = disk.open("a");
        disk.write(f, 0, b"unsynced");
        disk.crash(CrashKind::ProcessKill, &mut rng());
        assert_eq!(disk.read_vec(f, 0, 8), b"unsynced");
    }

    #[test]
    fn power_loss_keeps_synced_bytes_and_at_most_an_in_order_prefix_of_the_rest() {
        for seed in 0..200 {
            let mut disk = NodeDisk::new(DiskConfig::default());
            let f = disk.open("a");
            let synced_part = vec![1u8; 6_000];
            disk.write(f, 0, &synced_part);
            synced(&mut disk, f);
            let unsynced_part = vec![2u8; 30_000];
            disk.write(f, 6_000, &unsynced_part);
            disk.crash(CrashKind::PowerLoss, &mut Prng::stream(seed, StreamOwner::Node(0), Concern::Disk));
            let len = disk.len(f);
            assert!((6_000..=36_000).contains(&len), "seed {seed}: len {len}");
            let content = disk.read_vec(f, 0, len);
            assert!(content[..6_000].iter().all(|b| *b == 1), "seed {seed}: synced bytes lost");
            assert!(content[6_000..].iter().all(|b| *b == 2), "seed {seed}: a hole in the surviving prefix");
        }
    }

    #[test]
    fn power_loss_sometimes_tears_the_tail_mid_page() {
        let torn = (0..100).any(|seed| {
            let mut disk = NodeDisk::new(DiskConfig::default());
            let f = disk.open("a");
            disk.write(f, 0, &[7u8; 20_000]);
            disk.crash(CrashKind::PowerLoss, &mut Prng::stream(seed, StreamOwner::Node(0), Concern::Disk));
            disk.len(f) % PAGE_SIZE != 0
        });
        assert!(torn);
    }

    #[test]
    fn a_sync_covers_only_what_was_written_before_it_was_issued() {
        let mut disk = NodeDisk::new(DiskConfig::default());
        let f = disk.open("a");
        disk.write(f, 0, b"first");
        let (pending, done_at) = disk.begin_sync(f, Time::from_millis(1), &mut rng());
        assert!(done_at > Time::from_millis(1));
        disk.write(f, 5, b"second");
        assert_eq!(disk.complete_sync(pending), Some(5));
        assert_eq!(disk.durable_len(f), 5);
    }

    #[test]
    fn an_older_sync_finishing_late_never_replaces_a_newer_durable_copy() {
        let mut disk = NodeDisk::new(DiskConfig::default());
        let f = disk.open("a");
        disk.write(f, 0, b"old");
        let (older, _) = disk.begin_sync(f, Time::ZERO, &mut rng());
        disk.write(f, 3, b"+new");
        let (newer, _) = disk.begin_sync(f, Time::ZERO, &mut rng());
        disk.complete_sync(newer);
        assert_eq!(disk.complete_sync(older), Some(7));
        assert_eq!(disk.durable_len(f), 7);
    }

    #[test]
    fn a_process_kill_keeps_the_device_busy_with_the_syncs_already_queued() {
        let mut disk = NodeDisk::new(DiskConfig { jitter: Duration::ZERO, ..DiskConfig::default() });
        let f = disk.open("a");
        let (_, first) = disk.begin_sync(f, Time::ZERO, &mut rng());
        disk.crash(CrashKind::ProcessKill, &mut rng());
        let (_, after_restart) = disk.begin_sync(f, Time::ZERO, &mut rng());
        assert!(after_restart > first);
    }

    #[test]
    fn disk_loss_keeps_nothing() {
        let mut disk = NodeDisk::new(DiskConfig::default());
        let f = disk.open("a");
        disk.write(f, 0, b"x");
        synced(&mut disk, f);
        disk.crash(CrashKind::DiskLoss, &mut rng());
        assert!(!disk.exists(f));
        assert!(disk.list("").is_empty());
    }

    #[test]
    fn syncs_queue_behind_each_other_on_one_device() {
        let mut disk = NodeDisk::new(DiskConfig { jitter: Duration::ZERO, ..DiskConfig::default() });
        let f = disk.open("a");
        let (_, first) = disk.begin_sync(f, Time::ZERO, &mut rng());
        let (_, second) = disk.begin_sync(f, Time::ZERO, &mut rng());
        assert_eq!(second.as_micros(), 2 * first.as_micros());
    }
}
