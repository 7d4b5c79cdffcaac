//! MQFaultStrategy latency-fault tables (4.9 and 5.x).
