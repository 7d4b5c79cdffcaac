//! The broker as the store's host: [`StoreIo`] over the broker's kernel `Context`, and the virtual
//! wall clock every RocketMQ process of the simulation reads.
//!
//! Store timers travel inside the broker's own timer enum (`BrokerTimer::Store`) and come back to
//! `DefaultMessageStore::on_timer`; syncs come back as `Input::DiskSynced`. The wall clock
//! (`System.currentTimeMillis()`: born and store timestamps, UNIQ_KEY times, file times) is
//! [`DEFAULT_EPOCH_MS`] plus virtual milliseconds, the same for producers and brokers, so a message's
//! born timestamp and store timestamp are comparable.

use crate::broker::controller::BrokerTimer;
use crate::broker::store::store_io::{StoreIo, StoreTimer};
pub use crate::broker::store::test_store_io::DEFAULT_EPOCH_MS;
use crate::sim::disk::{FileId, NodeDisk};
use crate::sim::node::TimerId;
use crate::time::{Duration, Time};
use crate::world::{Ctx, Timer};

/// `System.currentTimeMillis()` at virtual time `now`.
pub fn wall_clock_ms(now: Time) -> i64 {
    DEFAULT_EPOCH_MS + now.as_millis() as i64
}

/// The store's window on the broker's context.
pub struct BrokerStoreIo<'c, 'a> {
    pub ctx: &'c mut Ctx<'a>,
}

impl StoreIo for BrokerStoreIo<'_, '_> {
    fn now(&self) -> Time {
        self.ctx.now()
    }

    fn now_ms(&self) -> i64 {
        wall_clock_ms(self.ctx.now())
    }

    fn disk(&self) -> &NodeDisk {
        self.ctx.disk()
    }

    fn open(&mut self, name: &str) -> FileId {
        self.ctx.open_file(name)
    }

    fn write(&mut self, file: FileId, offset: u64, bytes: &[u8]) {
        self.ctx.write(file, offset, bytes);
    }

    fn truncate(&mut self, file: FileId, len: u64) {
        self.ctx.truncate(file, len);
    }

    fn delete(&mut self, file: FileId) {
        self.ctx.delete_file(file);
    }

    fn sync(&mut self, file: FileId) {
        self.ctx.sync(file);
    }

    fn set_timer(&mut self, after: Duration, timer: StoreTimer) -> TimerId {
        self.ctx.set_timer(after, Timer::Broker(BrokerTimer::Store(timer)))
    }

    fn cancel_timer(&mut self, id: TimerId) {
        self.ctx.cancel_timer(id);
    }
}
