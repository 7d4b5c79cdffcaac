//! MessageQueueSelector implementations (hash, random, by key).
