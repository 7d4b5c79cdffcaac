//! The broker storage engine: CommitLog, ConsumeQueue, IndexFile, flush, recovery, cleanup.
