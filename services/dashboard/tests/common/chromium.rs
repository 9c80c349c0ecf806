//! A real headless Chromium (Debian's `chromium`), driven over the DevTools
//! protocol: the browser writes the port it chose to `DevToolsActivePort`
//! in its profile directory, the test opens the page's WebSocket and sends
//! `Page.navigate`, `Runtime.evaluate` and `Page.captureScreenshot`. Outside
//! CI a missing chromium skips the test (saying so); under `CI=true` it fails.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use capstan_test_support::{find_binary, require_daemon, HarnessError};
use capstan_testkit::eventually;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

/// How long the browser may take to start, a page to load or a condition to hold.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A headless Chromium with a fresh profile, killed on drop.
pub struct Browser {
    _process: tokio::process::Child,
    _profile: tempfile::TempDir,
    port: u16,
    /// the browser's own DevTools socket path (`/devtools/browser/ID`)
    endpoint: String,
}

impl Browser {
    /// Starts chromium; `None` when it is not installed and this is not CI.
    pub async fn launch() -> Option<Browser> {
        let missing = HarnessError::NotInstalled {
            daemon: "chromium",
            hint: "apt-get install chromium (scripts/setup.sh installs it), or set CAPSTAN_CHROMIUM",
        };
        let binary = require_daemon(find_binary("chromium", "CAPSTAN_CHROMIUM", &["/usr/bin"]).ok_or(missing))?;
        let profile = tempfile::tempdir().expect("a profile directory");
        let process = tokio::process::Command::new(&binary)
            .args([
                "--headless=new",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                // tests run as root in containers, where the sandbox cannot start
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--window-size=1440,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let active = profile.path().join("DevToolsActivePort");
        // two lines: the port, and the browser's socket path
        let (port, endpoint) = eventually("chromium to write DevToolsActivePort", PATIENCE, || {
            let text = std::fs::read_to_string(&active).unwrap_or_default();
            let mut lines = text.lines();
            let found = match (lines.next().and_then(|p| p.parse::<u16>().ok()), lines.next()) {
                (Some(port), Some(path)) if path.starts_with("/devtools/") => Some((port, path.to_owned())),
                _ => None,
            };
            async move { found }
        })
        .await;
        Some(Browser { _process: process, _profile: profile, port, endpoint })
    }

    /// A new tab: made through the browser's own socket (`Target.createTarget`),
    /// then spoken to on its own.
    pub async fn page(&self) -> Page {
        let browser = Page::connect(&format!("ws://127.0.0.1:{}{}", self.port, self.endpoint)).await;
        let created = browser.call("Target.createTarget", json!({ "url": "about:blank" })).await;
        let target = created["targetId"].as_str().expect("a target id");
        Page::connect(&format!("ws://127.0.0.1:{}/devtools/page/{target}", self.port)).await
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One tab, spoken to over its DevTools WebSocket.
pub struct Page {
    /// the socket and the last command id
    socket: Mutex<(Socket, u64)>,
}

impl Page {
    async fn connect(url: &str) -> Page {
        let (socket, _) =
            tokio_tungstenite::connect_async(url).await.unwrap_or_else(|e| panic!("DevTools at {url}: {e}"));
        Page { socket: Mutex::new((socket, 0)) }
    }

    /// Sends a command; its whole reply (`result`, or `error`). Events in
    /// between are skipped.
    async fn send(&self, method: &str, params: Value) -> Value {
        let mut held = self.socket.lock().await;
        held.1 += 1;
        let id = held.1;
        let command = json!({ "id": id, "method": method, "params": params }).to_string();
        held.0.send(Message::Text(command.into())).await.expect("a DevTools command sent");
        while let Some(message) = held.0.next().await {
            let Message::Text(text) = message.expect("a DevTools message") else { continue };
            let reply: Value = serde_json::from_str(text.as_str()).expect("DevTools speaks JSON");
            if reply["id"] == id {
                return reply;
            }
        }
        panic!("the DevTools socket closed during {method}");
    }

    /// Sends a command and returns its result.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let reply = self.send(method, params).await;
        assert!(reply.get("error").is_none(), "{method}: {}", reply["error"]);
        reply["result"].clone()
    }

    /// The value of a JavaScript expression, or why there is none (it
    /// threw, or the page navigated away while it ran).
    async fn try_eval(&self, expression: &str) -> Result<Value, String> {
        let params = json!({ "expression": expression, "returnByValue": true, "awaitPromise": true });
        let reply = self.send("Runtime.evaluate", params).await;
        if let Some(error) = reply.get("error") {
            return Err(error.to_string());
        }
        match reply["result"].get("exceptionDetails") {
            Some(thrown) => Err(thrown.to_string()),
            None => Ok(reply["result"]["result"]["value"].clone()),
        }
    }

    /// The value of a JavaScript expression in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        self.try_eval(expression).await.unwrap_or_else(|why| panic!("{expression}: {why}"))
    }

    /// Waits until `expression` is truthy (a page still loading is retried); its value.
    pub async fn wait_for(&self, what: &str, expression: &str) -> Value {
        eventually(what, PATIENCE, || async move {
            let value = self.try_eval(expression).await?;
            let truthy = !matches!(value, Value::Null | Value::Bool(false)) && value != json!("") && value != json!(0);
            if truthy {
                Ok(value)
            } else {
                Err(format!("{expression} is {value}"))
            }
        })
        .await
    }

    /// Opens `url` and waits for the new document to load.
    pub async fn goto(&self, url: &str) {
        self.eval("window.__leaving = true").await;
        self.call("Page.navigate", json!({ "url": url })).await;
        self.wait_for(&format!("{url} to load"), "!window.__leaving && document.readyState === 'complete'").await;
    }

    /// The page's path (after redirects).
    pub async fn path(&self) -> String {
        self.eval("location.pathname + location.search").await.as_str().unwrap_or_default().to_owned()
    }

    /// Saves a PNG of the whole page under the target directory; its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true })).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("the screenshot's data"))
            .expect("base64");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("the screenshot written");
        println!("screenshot: {}", path.display());
        path
    }
}
