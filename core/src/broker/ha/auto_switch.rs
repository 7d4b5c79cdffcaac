//! 5.x controller mode on the broker (labelled 5.x: RocketMQ 4.9 has no controller): `ReplicasManager`
//! and `AutoSwitchHAService` (`store/ha/autoswitch/`, RocketMQ 5.x).

use serde::{Deserialize, Serialize};

use crate::broker::controller::BrokerController;
use crate::protocol::ha::{ControllerRequest, ControllerResponse, HaFrame};
use crate::sim::node::NodeId;
use crate::world::Ctx;

/// 5.x timers of a broker in controller mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AutoSwitchTimer {
    Heartbeat,
}

/// What a controller call was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControllerCall {
    Heartbeat,
}

/// The 5.x state of a broker in controller mode.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AutoSwitch {}

impl BrokerController {
    pub(crate) fn start_auto_switch(&mut self, _ctx: &mut Ctx<'_>) {}

    pub(crate) fn on_controller_request(
        &mut self,
        _from: NodeId,
        _opaque: Option<u32>,
        _request: ControllerRequest,
        _ctx: &mut Ctx<'_>,
    ) {
    }

    pub(crate) fn on_controller_response(
        &mut self,
        _from: NodeId,
        _call: ControllerCall,
        _response: ControllerResponse,
        _ctx: &mut Ctx<'_>,
    ) {
    }

    pub(crate) fn on_auto_switch_timer(&mut self, _timer: AutoSwitchTimer, _ctx: &mut Ctx<'_>) {}

    pub(crate) fn on_auto_switch_frame(&mut self, _from: NodeId, _frame: HaFrame, _ctx: &mut Ctx<'_>) {}

    pub(crate) fn on_auto_switch_connection_closed(
        &mut self,
        _peer: NodeId,
        _failed: Vec<ControllerCall>,
        _ctx: &mut Ctx<'_>,
    ) {
    }
}
