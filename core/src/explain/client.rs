//! Explainers for client-side algorithms: allocation, queue selection, latency fault, delay levels.
