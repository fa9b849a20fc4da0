//! The commands, one file each: `check` (with its GitHub publishing and signal handling),
//! `list`, `gc`, `comment` and `rules`.

pub mod check;
pub mod comment;
pub mod gc;
pub mod list;
mod publish;
mod rules;
mod signals;

pub use check::check;
pub use comment::comment;
pub use gc::gc;
pub use list::list;
pub use rules::rules;
