//! The commands, one file each: `check` (with its GitHub publishing and signal handling),
//! `list`, `gc`, `comment`, `rules`, `snapshot` and `types`.

pub mod check;
pub mod comment;
pub mod gc;
pub mod list;
mod provision;
mod publish;
mod replay;
mod rules;
mod signals;
pub mod snapshot;
pub mod types;

pub use check::check;
pub use comment::comment;
pub use gc::gc;
pub use list::list;
pub use rules::rules;
pub use snapshot::snapshot;
pub use types::types;
