//! The `skyhold` binary: parses the command line and hands off to the library.

fn main() {
    println!("skyhold {}", env!("CARGO_PKG_VERSION"));
}
