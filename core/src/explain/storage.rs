//! Explainers for the storage engine: records, message ids, tag codes, index slots, file names.
