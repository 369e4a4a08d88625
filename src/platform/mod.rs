//! What is known, and what is not, about how Genesys Cloud behaves, as plain data that both
//! production code and the sandbox read.
//!
//! - `variants`: each behaviour the shared notes mark UNCONFIRMED, with its plausible values and
//!   their sources. The sandbox plays whichever value it is given; `doctor` reports which value
//!   a real org shows and prints the `--sandbox-variant` that reproduces it. Both import it from
//!   here, so production code never imports the sandbox's server to read the table
//!   (`sandbox::variants` remains as a re-export for the sandbox's own users).

pub mod variants;
