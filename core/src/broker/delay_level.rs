//! The delay levels of `messageDelayLevel` (ScheduleMessageService.parseDelayLevel).
