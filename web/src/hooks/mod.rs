//! Hooks: the play loop owns the frame timer; the keyboard hook owns the shortcuts.

pub mod use_keyboard;
pub mod use_play_loop;
