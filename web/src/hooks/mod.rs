//! Hooks: the play loop owns the frame timer; the keyboard hook owns the shortcuts
//! (Esc closes whatever registered last with `use_escape`); an element's width
//! lets a picture lay itself out to fit.

pub mod use_element_width;
pub mod use_escape;
pub mod use_keyboard;
pub mod use_play_loop;
