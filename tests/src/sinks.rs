//! Receivers for what `ferry serve` sends out, on loopback: a minimal SMTP server that keeps
//! every message (and the credentials it was sent with), and a minimal HTTP server that keeps
//! every webhook body (and can answer 500 to the next few, to test retries). Plain threads,
//! one connection at a time each: enough for alerts, and nothing to mock in `ferry` itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One message as the SMTP sink received it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed, CRLF line ends kept.
    pub data: String,
    /// `user\0password` as given with AUTH, if the client authenticated.
    pub auth: Option<(String, String)>,
}

impl Mail {
    /// A header's value (the first with that name, case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    pub fn body(&self) -> String {
        self.data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.replace("\r\n", "\n"))
            .unwrap_or_default()
    }
}

/// An SMTP server on 127.0.0.1 that accepts everything (AUTH PLAIN/LOGIN included).
pub struct SmtpSink {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp sink");
        let addr = listener.local_addr().expect("addr");
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = kept.clone();
                std::thread::spawn(move || {
                    // A conversation that breaks off keeps nothing.
                    if let Ok(Some(mail)) = smtp_session(stream) {
                        kept.lock().expect("lock").push(mail);
                    }
                });
            }
        });
        SmtpSink { addr, mails }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().expect("lock").clone()
    }

    /// Waits until a message matches `pred` (or panics after `limit`, listing what came).
    pub fn wait_for(&self, limit: Duration, pred: impl Fn(&Mail) -> bool) -> Mail {
        let start = Instant::now();
        loop {
            if let Some(m) = self.mails().into_iter().find(|m| pred(m)) {
                return m;
            }
            assert!(
                start.elapsed() < limit,
                "no matching e-mail in {limit:?}; got: {:#?}",
                self.mails()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn smtp_session(stream: TcpStream) -> std::io::Result<Option<Mail>> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    let mut line = String::new();
    let mut read = |lines: &mut BufReader<TcpStream>| -> std::io::Result<Option<String>> {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
    };
    out.write_all(b"220 sink ESMTP ready\r\n")?;
    let mut mail = Mail::default();
    let mut complete = None;
    while let Some(cmd) = read(&mut lines)? {
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            out.write_all(b"250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")?;
        } else if upper.starts_with("HELO") {
            out.write_all(b"250 sink\r\n")?;
        } else if upper.starts_with("AUTH PLAIN") {
            let arg = match cmd.get(10..).map(str::trim).filter(|a| !a.is_empty()) {
                Some(a) => a.to_string(),
                None => {
                    out.write_all(b"334 \r\n")?;
                    read(&mut lines)?.unwrap_or_default()
                }
            };
            let plain = String::from_utf8_lossy(&base64_decode(&arg)).into_owned();
            let mut parts = plain.split('\0').skip(1);
            mail.auth = Some((
                parts.next().unwrap_or_default().to_string(),
                parts.next().unwrap_or_default().to_string(),
            ));
            out.write_all(b"235 2.7.0 accepted\r\n")?;
        } else if upper.starts_with("AUTH LOGIN") {
            out.write_all(b"334 VXNlcm5hbWU6\r\n")?;
            let user = read(&mut lines)?.unwrap_or_default();
            out.write_all(b"334 UGFzc3dvcmQ6\r\n")?;
            let pass = read(&mut lines)?.unwrap_or_default();
            let text = |b64: &str| String::from_utf8_lossy(&base64_decode(b64)).into_owned();
            mail.auth = Some((text(&user), text(&pass)));
            out.write_all(b"235 2.7.0 accepted\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = address(&cmd[10..]);
            out.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(address(&cmd[8..]));
            out.write_all(b"250 ok\r\n")?;
        } else if upper == "DATA" {
            out.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut data = String::new();
            while let Some(l) = read(&mut lines)? {
                if l == "." {
                    break;
                }
                data.push_str(
                    l.strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(&l),
                );
                data.push_str("\r\n");
            }
            mail.data = data;
            complete = Some(mail.clone());
            out.write_all(b"250 queued\r\n")?;
        } else if upper == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            break;
        } else if upper == "RSET" || upper == "NOOP" {
            out.write_all(b"250 ok\r\n")?;
        } else {
            out.write_all(b"502 not implemented\r\n")?;
        }
    }
    Ok(complete)
}

fn address(arg: &str) -> String {
    let a = arg.trim();
    let a = a.split_whitespace().next().unwrap_or(a);
    a.trim_start_matches('<').trim_end_matches('>').to_string()
}

/// Standard base64 (padding optional); skips what isn't base64.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// An HTTP server on 127.0.0.1 that keeps every request body as JSON.
pub struct WebhookSink {
    pub addr: SocketAddr,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    failures: Arc<AtomicUsize>,
    /// Requests answered 500 so far.
    refused: Arc<AtomicUsize>,
}

impl WebhookSink {
    pub fn start() -> WebhookSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind webhook sink");
        let addr = listener.local_addr().expect("addr");
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let (kept, fail, refd) = (bodies.clone(), failures.clone(), refused.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = http_exchange(stream, &kept, &fail, &refd);
            }
        });
        WebhookSink {
            addr,
            bodies,
            failures,
            refused,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks/alerts", self.addr)
    }

    /// The next `n` requests are answered 500 (and not kept).
    pub fn fail_next(&self, n: usize) {
        self.failures.store(n, Ordering::SeqCst);
    }

    /// How many requests were answered 500.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().expect("lock").clone()
    }

    /// Waits until a kept body matches `pred` (or panics after `limit`, listing what came).
    pub fn wait_for(
        &self,
        limit: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = Instant::now();
        loop {
            if let Some(b) = self.bodies().into_iter().find(|b| pred(b)) {
                return b;
            }
            assert!(
                start.elapsed() < limit,
                "no matching webhook in {limit:?}; got: {:#?}",
                self.bodies()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn http_exchange(
    stream: TcpStream,
    kept: &Mutex<Vec<serde_json::Value>>,
    failures: &AtomicUsize,
    refused: &AtomicUsize,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let fail = failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if fail {
        refused.fetch_add(1, Ordering::SeqCst);
        out.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope",
        )?;
    } else {
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into()));
        kept.lock().expect("lock").push(json);
        out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")?;
    }
    out.flush()
}
