//! `skyhold serve`: run the server. With no flags, a complete local network on 127.0.0.1:2583.

use anyhow::Context;

use crate::config::{Config, ServeArgs};

pub fn run(mut args: ServeArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(async move {
        // Bind first: with port 0 the real port decides the default public URL.
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        args.listen = listener.local_addr()?;
        let config = Config::from_args(args).map_err(|problems| {
            anyhow::anyhow!("invalid configuration:\n  {}", problems.join("\n  "))
        })?;
        crate::telemetry::init(config.log_json);
        crate::app::serve(config, listener).await
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}
