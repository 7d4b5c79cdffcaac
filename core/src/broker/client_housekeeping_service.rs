//! `ClientHousekeepingService` (4.9.8 `broker/client/`): how a broker notices that a consumer is gone.
//!
//! * A channel closes (the client process was killed, or the connection broke): `doChannelCloseEvent`
//!   removes it from every consumer group at once and the rest of each group is sent
//!   NOTIFY_CONSUMER_IDS_CHANGED, so they rebalance within a round trip. Its held pulls are dropped.
//! * A client goes silent with its connection open (frozen, partitioned, powered off): every 10 s
//!   (first after 10 s) `scanNotActiveChannel` removes channels with no heartbeat for more than 120 s and
//!   closes them. In 4.9.8 the close then finds nothing left to remove, so **no notification** is sent:
//!   the survivors take over at their next periodic rebalance (up to 20 s later).
//!
//! Producers' channels are handled by the send side (`controller.rs`).

use crate::broker::controller::BrokerController;
use crate::sim::node::NodeId;
use crate::world::Ctx;

impl BrokerController {
    /// `onChannelClose` for the consumer side.
    pub(crate) fn on_consumer_channel_closed(&mut self, peer: NodeId, ctx: &mut Ctx<'_>) {
        self.consumer_services.pull_request_hold_service.drop_channel(peer);
        let changes = self.consumer_services.consumer_manager.do_channel_close_event(peer);
        for change in changes {
            self.notify_consumer_ids_changed(Some(change), ctx);
        }
    }

    /// `scanExceptionChannel` (consumers): expire silent channels and close them.
    pub(crate) fn scan_exception_channel(&mut self, ctx: &mut Ctx<'_>) {
        let now_ms = ctx.now().as_millis();
        let expired = self.consumer_services.consumer_manager.scan_not_active_channel(now_ms);
        for channel in expired {
            self.consumer_services.pull_request_hold_service.drop_channel(channel);
            ctx.close_connection(channel);
        }
    }
}
