//! Email over a real SMTP conversation: a minimal SMTP server in the test receives what the node
//! sends (lettre speaking SMTP over loopback, `smtp+insecure://`): the admin's test message (from the
//! CLI and from the console's method), then a
//! password-reset code that is used to reset the password.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::harness::{Node, skyhold};
use crate::xrpc::Xrpc;

/// Accepts SMTP sessions and keeps each message's DATA.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let kept = messages.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            kept.lock().unwrap().push(std::mem::take(body));
                            data = None;
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 test\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, messages)
}

// Multi-threaded: the SMTP server must keep answering while the test waits for the CLI process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_emailed_through_smtp() {
    let (port, messages) = smtp_server().await;
    let smtp = format!("smtp+insecure://127.0.0.1:{port}");
    let node = Node::start(&[
        "--smtp-url",
        &smtp,
        "--smtp-from",
        "skyhold <noreply@example.com>",
    ])
    .await;
    let c = Xrpc::new(&node);

    let output = skyhold()
        .args(["email", "test", "admin@example.com", "--server", &node.url])
        .args(["--admin-password", &node.admin_password])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    {
        let messages = messages.lock().unwrap();
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].contains("To: admin@example.com"),
            "{}",
            messages[0]
        );
        assert!(
            messages[0].contains("Subject: skyhold test message"),
            "{}",
            messages[0]
        );
    }

    // The console's test mail (the same message, through the XRPC method the admin pages call),
    // written to the audit log.
    let (code, body) = c
        .admin_post(
            "/xrpc/blue.skyhold.admin.sendTestEmail",
            json!({"to": " console@example.com "}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    {
        let messages = messages.lock().unwrap();
        assert_eq!(messages.len(), 2);
        assert!(
            messages[1].contains("To: console@example.com"),
            "{}",
            messages[1]
        );
    }
    let (code, log) = c.admin_get("/xrpc/blue.skyhold.admin.getAuditLog").await;
    assert_eq!(code, StatusCode::OK, "{log}");
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "email.test"
                && e["subject"] == "console@example.com"
                && e["actor"] == "admin-password"),
        "{log}"
    );

    c.account("mailed.test").await;
    let (code, _) = c
        .post(
            "com.atproto.server.requestPasswordReset",
            None,
            json!({"email": "mailed-test@example.com"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let message = messages.lock().unwrap().last().cloned().unwrap();
    assert!(message.contains("To: mailed-test@example.com"), "{message}");
    let token = message
        .lines()
        .find_map(|l| l.strip_prefix("Your code: "))
        .expect("the code is in the message")
        .trim()
        .to_owned();
    let (code, body) = c
        .post(
            "com.atproto.server.resetPassword",
            None,
            json!({"token": token, "password": "reset by email"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (code, _) = c
        .post(
            "com.atproto.server.createSession",
            None,
            json!({"identifier": "mailed.test", "password": "reset by email"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    // With mail configured, codes are not left for the admin to read out.
    let (_, codes) = c.admin_get("/admin/codes").await;
    assert_eq!(codes["codes"], json!([]), "{codes}");
}
