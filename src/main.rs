//! The `skyhold` binary: installs the TLS crypto provider, then hands the command line to the library.

fn main() {
    // Exactly one rustls provider (ring) is compiled in; make it the process default before any TLS
    // configuration is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    std::process::exit(skyhold::cli::run());
}
