//! Hooks: the play loop owns the timer.

pub mod use_play_loop;
