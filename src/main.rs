//! The `skyhold` binary: installs the TLS crypto provider, then hands the command line to the library.

fn main() {
    // Exactly one rustls provider (ring) is compiled in; make it the process default before any TLS
    // configuration is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A panic is a bug: log it where the operator looks (the request that caused it gets a 500
    // from the panic layer; see docs/DECISIONS.md), then print it as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "a thread panicked");
        default_hook(info);
    }));
    std::process::exit(skyhold::cli::run());
}
