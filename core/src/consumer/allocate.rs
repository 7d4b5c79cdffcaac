//! The AllocateMessageQueueStrategy implementations of RocketMQ.
