//! Connections (M4): a storm of idle and half-sent requests neither holds connections open nor
//! starves the node of descriptors; health answers through it and every storm connection is
//! closed by the server once the header timeout passes.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::harness::{Node, http, open_descriptors};

#[tokio::test]
async fn an_idle_connection_storm_is_capped_and_timed_out() {
    let node = Node::start(&["--max-connections", "64", "--header-timeout-secs", "2"]).await;
    let baseline = open_descriptors(node.pid());
    let port = node.port;
    // 300 connections: half send part of a request's head and stop, half send nothing at all.
    let storm = tokio::task::spawn_blocking(move || {
        let mut sockets = Vec::new();
        for n in 0..300 {
            let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            if n % 2 == 0 {
                socket
                    .write_all(b"GET /xrpc/_health HTTP/1.1\r\nHost: x\r\n")
                    .unwrap();
            }
            sockets.push(socket);
        }
        sockets
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = open_descriptors(node.pid());
    // Health answers through the storm (it waits for a slot at most a header timeout).
    let started = Instant::now();
    let health = http()
        .get(node.xrpc("_health"))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let waited = started.elapsed();
    // Every storm connection is closed by the server: all were served or timed out in turn.
    let closed = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(40);
        let mut closed = 0;
        for mut socket in storm {
            let left = deadline.saturating_duration_since(Instant::now());
            socket
                .set_read_timeout(Some(left.max(Duration::from_millis(10))))
                .unwrap();
            let mut buffer = [0u8; 1024];
            loop {
                match socket.read(&mut buffer) {
                    Ok(0) => {
                        closed += 1;
                        break;
                    }
                    // A 408 before the close.
                    Ok(_) => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                        closed += 1;
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        closed
    })
    .await
    .unwrap();
    let after = open_descriptors(node.pid());
    println!(
        "idle storm: 300 connections, cap 64: descriptors {baseline} before, {during} during, \
         {after} after; health answered in {waited:?}; {closed}/300 closed by the server"
    );
    assert!(
        during <= baseline + 64 + 8,
        "{during} descriptors with a cap of 64 (baseline {baseline})"
    );
    assert_eq!(closed, 300, "storm connections still open");
    assert!(after <= baseline + 8, "{after} descriptors after the storm");
}
