//! The conformance cases, by area. Every case is `async fn(Runtime)` and panics on a
//! violation with a message naming what the runtime did instead.

mod basics;
mod images;
mod io;
mod lifecycle;
mod lists;
mod nodes;

pub use basics::*;
pub use images::*;
pub use io::*;
pub use lifecycle::*;
pub use lists::*;
pub use nodes::*;
