//! Prometheus's HTTP API: instant and range queries, the credentials and certificates to send
//! them with, and each way a query can fail as one line a person can act on.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

use crate::source::tls;
use crate::text::sanitize::sanitize;

/// How long one query may take: a fleet of thousands of GPUs answers in well under a second.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The most of an answer read: a fleet of 8,000 GPUs is tens of MiB.
const MAX_ANSWER: u64 = 1 << 30;

/// Where Prometheus is and how to talk to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Connection {
    /// `http(s)://[user[:password]@]host:port[/path]`, as given.
    pub url: String,
    /// Bearer token (read from `--prometheus-token-file`).
    pub token: Option<String>,
    /// Password for the URL's user (read from `--prometheus-password-file`).
    pub password: Option<String>,
    /// CA certificates (PEM) to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
}

pub struct Client {
    agent: ureq::Agent,
    /// The URL without credentials, ending before `/api/v1`.
    base: String,
    /// `Authorization` header value, if any.
    authorization: Option<String>,
    /// Held while an instant query's answer is read and parsed: queries sent together are
    /// evaluated by Prometheus together, but their answers (~4 MB of JSON each for 8,000
    /// GPUs) are held one at a time. Four at once were the monitor's peak.
    reading: std::sync::Mutex<()>,
}

/// One series of a vector answer: its labels (the metric name under `__name__`) and value.
#[derive(Debug, Deserialize)]
pub struct Sample<'a> {
    #[serde(borrow)]
    pub metric: Labels<'a>,
    #[serde(deserialize_with = "point")]
    pub value: (f64, f64),
}

/// One series of a range query's answer: its labels and `[time, value]` points.
#[derive(Debug, Deserialize)]
pub struct RangeSeries<'a> {
    #[serde(borrow)]
    pub metric: Labels<'a>,
    #[serde(deserialize_with = "points")]
    pub values: Vec<(f64, f64)>,
}

/// A series' labels in the order Prometheus sent them, borrowed from the answer where no
/// escape had to be undone.
#[derive(Debug, Default)]
pub struct Labels<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Labels<'a> {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref())
    }
}

/// A string borrowed from the answer unless it had escapes (serde's `Cow` alone always copies).
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Labels<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Pairs<'a> {
            type Value = Labels<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of label names to values")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Labels<'a>, M::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Text(k), Text(v))) = map.next_entry()? {
                    pairs.push((k, v));
                }
                Ok(Labels(pairs))
            }
        }
        d.deserialize_map(Pairs(std::marker::PhantomData))
    }
}

impl Client {
    pub fn new(connection: &Connection) -> Result<Self, String> {
        let (base, user) = split_credentials(&connection.url)?;
        let authorization = match (&connection.token, user, &connection.password) {
            (Some(_), Some(_), _) => {
                return Err("give either a bearer token (--prometheus-token-file) or a user and password, not both".into())
            }
            (Some(token), None, _) => Some(format!("Bearer {token}")),
            (None, Some((user, password)), file_password) => {
                let password = file_password.clone().or(password).unwrap_or_default();
                let pair = base64::engine::general_purpose::STANDARD
                    .encode(format!("{user}:{password}"));
                Some(format!("Basic {pair}"))
            }
            (None, None, Some(_)) => {
                return Err("--prometheus-password-file needs a user in the URL (https://USER@host:9090)".into())
            }
            (None, None, None) => None,
        };
        let roots = match &connection.ca_file {
            Some(path) => tls::read_roots(path, "--prometheus-ca")?,
            None => tls::system_roots(),
        };
        let agent = tls::agent(roots, TIMEOUT, false);
        Ok(Self { agent, base, authorization, reading: std::sync::Mutex::new(()) })
    }

    /// The server, as shown to people (never with its credentials).
    pub fn shown(&self) -> &str {
        &self.base
    }

    /// An instant query at the server's now: each series handed to `each` as it is read;
    /// Prometheus's warnings returned.
    pub fn query(
        &self,
        promql: &str,
        each: impl for<'b> FnMut(Sample<'b>),
    ) -> Result<Vec<String>, String> {
        let (status, mut response) = self.send("query", &[("query", promql)])?;
        let _one_at_a_time = self.reading.lock().unwrap_or_else(|e| e.into_inner());
        // Read whole and parsed in place: the labels borrow from it. Parsing from the
        // connection instead cost the monitor half as much CPU again on 8,000 GPUs (owned
        // labels, a byte at a time) for no steady gain in memory.
        let body = self.read(&mut response)?;
        let parsed = read_answer(serde_json::Deserializer::from_str(&body), "vector", each);
        self.judge(status, parsed, &body)
    }

    /// A range query over `[start, end]` (Unix seconds), a point every `step` seconds.
    pub fn query_range(
        &self,
        promql: &str,
        (start, end, step): (f64, f64, f64),
        each: impl for<'b> FnMut(RangeSeries<'b>),
    ) -> Result<Vec<String>, String> {
        let (start, end, step) = (format!("{start:.3}"), format!("{end:.3}"), format!("{step}"));
        let form = [("query", promql), ("start", &start), ("end", &end), ("step", &step)];
        let (status, response) = self.send("query_range", &form)?;
        self.stream::<RangeSeries<'static>>(status, response, "matrix", each)
    }

    /// A successful answer's series handed to `each` as they are read from the connection,
    /// never held whole (the charts' past of 8,000 GPUs is ~25 MB of JSON); any other answer
    /// read whole to say what it was.
    fn stream<T: Deserialize<'static>>(
        &self,
        status: u16,
        mut response: ureq::http::Response<ureq::Body>,
        kind: &'static str,
        each: impl FnMut(T),
    ) -> Result<Vec<String>, String> {
        if !(200..300).contains(&status) {
            let body = self.read(&mut response)?;
            return self.judge(status, Err(serde::de::Error::custom("not a success")), &body);
        }
        let head = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let reader = Head {
            inner: response.body_mut().with_config().limit(MAX_ANSWER).reader(),
            head: head.clone(),
        };
        let de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
        let parsed = read_answer::<_, T>(de, kind, each);
        let head = String::from_utf8_lossy(&head.borrow()).into_owned();
        self.judge(status, parsed, &head)
    }

    /// POSTs a query (a long selector never meets a URL length limit): the HTTP status and
    /// the response, or why there is none to read.
    fn send(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Result<(u16, ureq::http::Response<ureq::Body>), String> {
        let url = format!("{}/api/v1/{endpoint}", self.base);
        let mut request = self.agent.post(&url);
        if let Some(value) = &self.authorization {
            request = request.header("Authorization", value);
        }
        let response = request.send_form(form.iter().copied()).map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        if matches!(status, 401 | 403) {
            return Err(format!(
                "Prometheus at {} refused the credentials (HTTP {status}): check --prometheus-token-file, or the user and password",
                self.base
            ));
        }
        if status == 404 {
            return Err(format!(
                "{} answered HTTP 404 to {url}: no Prometheus API there (is the URL Prometheus's, with its path prefix if it has one?)",
                self.base
            ));
        }
        Ok((status, response))
    }

    fn read(&self, response: &mut ureq::http::Response<ureq::Body>) -> Result<String, String> {
        response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| self.unreachable(&e))
    }

    /// Prometheus's warnings once the answer said `success`; else one line on what it said.
    fn judge(
        &self,
        status: u16,
        parsed: Result<Envelope, serde_json::Error>,
        body: &str,
    ) -> Result<Vec<String>, String> {
        match parsed {
            Ok(e) if e.status == "success" && (200..300).contains(&status) => {
                Ok(e.warnings.iter().chain(&e.infos).map(|w| sanitize(w).into_owned()).collect())
            }
            Ok(e) if e.status == "error" => Err(format!(
                "Prometheus at {} answered HTTP {status}, {}: {}",
                self.base,
                sanitize(e.error_type.as_deref().unwrap_or("error")),
                sanitize(e.error.as_deref().unwrap_or("no reason given"))
            )),
            _ if (200..300).contains(&status) => Err(format!(
                "{} did not answer like Prometheus's API (not its JSON{}): is the URL right?",
                self.base,
                first_words(body).map(|w| format!(", it begins `{w}`")).unwrap_or_default()
            )),
            _ => Err(format!(
                "Prometheus at {} answered HTTP {status}{}",
                self.base,
                first_words(body).map(|w| format!(": {w}")).unwrap_or_default()
            )),
        }
    }

    fn unreachable(&self, e: &ureq::Error) -> String {
        let why = match e {
            ureq::Error::Timeout(_) => format!("no answer in {} s", TIMEOUT.as_secs()),
            ureq::Error::HostNotFound => "host not found".into(),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused (is Prometheus running there, on that port?)".into()
            }
            ureq::Error::BodyExceedsLimit(_) => {
                format!("the answer is over {} MiB", MAX_ANSWER >> 20)
            }
            other => match tls::why_handshake_failed(other, "--prometheus-ca") {
                Some(why) => why,
                None => sanitize(&other.to_string()).into_owned(),
            },
        };
        format!("cannot query Prometheus at {}: {why}", self.base)
    }
}

/// The envelope of every API answer, read while its series are handed on.
#[derive(Debug, Default)]
struct Envelope {
    status: String,
    error_type: Option<String>,
    error: Option<String>,
    warnings: Vec<String>,
    infos: Vec<String>,
}

/// The series of an instant query's answer (for tests).
#[cfg(test)]
pub fn vector(body: &str) -> Result<Vec<Sample<'_>>, String> {
    let mut all = Vec::new();
    let de = serde_json::Deserializer::from_str(body);
    let e = read_answer(de, "vector", |s| all.push(s)).map_err(|e| e.to_string())?;
    if e.status != "success" {
        return Err(format!("status {}", e.status));
    }
    Ok(all)
}

/// Reads an answer in one pass: its envelope, and each series of its `data.result` (of
/// `kind`) handed to `each` as it is parsed, so no list of tens of thousands of series is ever
/// held (the answer for 8,000 GPUs is ~10 MB of JSON; its series parsed would be more).
fn read_answer<'a, R: serde_json::de::Read<'a>, T: Deserialize<'a>>(
    mut de: serde_json::Deserializer<R>,
    kind: &'static str,
    mut each: impl FnMut(T),
) -> Result<Envelope, serde_json::Error> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::fmt;
    use std::marker::PhantomData;

    struct Answer<'f, F, T>(&'f mut F, &'static str, PhantomData<T>);
    struct Data<'f, F, T>(&'f mut F, &'static str, PhantomData<T>);
    struct Series<'f, F, T>(&'f mut F, PhantomData<T>);

    impl<'de, T: Deserialize<'de>, F: FnMut(T)> Visitor<'de> for Answer<'_, F, T> {
        type Value = Envelope;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("Prometheus's answer")
        }
        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Envelope, M::Error> {
            let mut envelope = Envelope::default();
            while let Some(Text(key)) = map.next_key()? {
                match key.as_ref() {
                    "status" => envelope.status = map.next_value::<String>()?,
                    "errorType" => envelope.error_type = map.next_value()?,
                    "error" => envelope.error = map.next_value()?,
                    "warnings" => envelope.warnings = map.next_value()?,
                    "infos" => envelope.infos = map.next_value()?,
                    "data" => map.next_value_seed(Data(&mut *self.0, self.1, PhantomData))?,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(envelope)
        }
    }
    impl<'de, T: Deserialize<'de>, F: FnMut(T)> DeserializeSeed<'de> for Data<'_, F, T> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de, T: Deserialize<'de>, F: FnMut(T)> Visitor<'de> for Data<'_, F, T> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("the answer's data")
        }
        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
            while let Some(Text(key)) = map.next_key()? {
                match key.as_ref() {
                    "resultType" => {
                        let Text(kind) = map.next_value()?;
                        if kind != self.1 {
                            return Err(serde::de::Error::custom(format!(
                                "a {}, not the {} asked for",
                                sanitize(&kind),
                                self.1
                            )));
                        }
                    }
                    "result" => map.next_value_seed(Series(&mut *self.0, PhantomData))?,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }
    }
    impl<'de, T: Deserialize<'de>, F: FnMut(T)> DeserializeSeed<'de> for Series<'_, F, T> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de, T: Deserialize<'de>, F: FnMut(T)> Visitor<'de> for Series<'_, F, T> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of series")
        }
        fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
            while let Some(sample) = seq.next_element()? {
                (self.0)(sample);
            }
            Ok(())
        }
    }

    let envelope =
        serde::Deserializer::deserialize_map(&mut de, Answer(&mut each, kind, PhantomData))?;
    de.end()?;
    Ok(envelope)
}

/// `[1700000000.781, "42"]`: Prometheus sends values as strings (`NaN`, `+Inf` included).
fn point<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(f64, f64), D::Error> {
    let (t, Text(v)): (f64, Text<'de>) = Deserialize::deserialize(d)?;
    Ok((t, v.parse().unwrap_or(f64::NAN)))
}

fn points<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(f64, f64)>, D::Error> {
    let raw: Vec<(f64, Text<'de>)> = Deserialize::deserialize(d)?;
    Ok(raw.into_iter().map(|(t, Text(v))| (t, v.parse().unwrap_or(f64::NAN))).collect())
}

/// The start of a body that is not the API's JSON, cleaned for one line.
/// A reader that keeps the first bytes read through it, to quote an answer that is not
/// Prometheus's JSON.
struct Head<R> {
    inner: R,
    head: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
}

impl<R: std::io::Read> std::io::Read for Head<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut head = self.head.borrow_mut();
        let room = 160usize.saturating_sub(head.len()).min(n);
        head.extend_from_slice(&buf[..room]);
        Ok(n)
    }
}

fn first_words(body: &str) -> Option<String> {
    let line = body.split(['\n', '\r']).map(str::trim).find(|l| !l.is_empty())?;
    let cut: String = line.chars().take(80).collect();
    Some(sanitize(&cut).into_owned())
}

/// `https://alice:pw@prom:9090/` → (`https://prom:9090`, Some(("alice", Some("pw")))); only
/// http and https.
type Credentials = Option<(String, Option<String>)>;

fn split_credentials(url: &str) -> Result<(String, Credentials), String> {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some((s, rest)) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
            (s.to_ascii_lowercase(), rest)
        }
        Some((s, _)) => {
            return Err(format!("--prometheus: only http:// and https:// URLs, not {s}://"))
        }
        None => ("http".into(), url),
    };
    // Trailing slashes only after the scheme is off: `http://` names no host, not `http:`.
    let rest = rest.trim_end_matches('/');
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if hostport.is_empty() {
        return Err(format!("--prometheus: `{}` names no host", redact(url)));
    }
    let decode = |s: &str| percent_decode(s);
    let user = userinfo.map(|u| match u.split_once(':') {
        Some((user, pw)) => (decode(user), Some(decode(pw))),
        None => (decode(u), None),
    });
    let path = if path.is_empty() { String::new() } else { format!("/{path}") };
    let base = format!("{scheme}://{hostport}{path}");
    base.parse::<ureq::http::Uri>()
        .map_err(|_| format!("--prometheus: `{}` is not a valid URL", redact(url)))?;
    Ok((base, user))
}

/// The URL with any password replaced, for messages.
fn redact(url: &str) -> String {
    match url.split_once("://").and_then(|(s, rest)| {
        let (userinfo, host) = rest.rsplit_once('@')?;
        let user = userinfo.split(':').next().unwrap_or("");
        Some(format!("{s}://{user}:***@{host}"))
    }) {
        Some(r) => r,
        None => url.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok().and_then(|h| u8::from_str_radix(h, 16).ok()));
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_taken_out_of_the_url() {
        let (base, user) = split_credentials("https://alice:p%40ss@prom:9090/").unwrap();
        assert_eq!(base, "https://prom:9090");
        assert_eq!(user, Some(("alice".into(), Some("p@ss".into()))));
        let (base, user) = split_credentials("prom:9090/prometheus").unwrap();
        assert_eq!((base.as_str(), user), ("http://prom:9090/prometheus", None));
        assert!(split_credentials("ftp://prom").unwrap_err().contains("only http"));
        assert!(split_credentials("http://bob:secret@").unwrap_err().contains("bob:***@"));
        assert!(split_credentials("http://").unwrap_err().contains("names no host"));
        assert_eq!(split_credentials("prom:9090/").unwrap().0, "http://prom:9090");
    }

    #[test]
    fn a_bearer_token_and_a_user_are_not_both_sent() {
        let connection = Connection {
            url: "http://u:p@prom:9090".into(),
            token: Some("t".into()),
            ..Connection::default()
        };
        assert!(Client::new(&connection).err().unwrap().contains("not both"));
        let connection = Connection {
            url: "http://u@prom:9090".into(),
            password: Some("pw".into()),
            ..Connection::default()
        };
        let client = Client::new(&connection).unwrap();
        assert_eq!(client.authorization.as_deref(), Some("Basic dTpwdw=="));
        assert_eq!(client.shown(), "http://prom:9090");
    }

    #[test]
    fn vectors_are_read_with_their_labels_and_values() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","instance":"a:1"},"value":[1700000000.5,"1"]},
            {"metric":{"__name__":"x\"y"},"value":[1700000000.5,"NaN"]}]}}"#;
        let v = vector(body).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].metric.get("instance"), Some("a:1"));
        assert_eq!(v[0].value, (1700000000.5, 1.0));
        assert_eq!(v[1].metric.get("__name__"), Some("x\"y"));
        assert!(v[1].value.1.is_nan());
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}"#;
        assert!(vector(scalar).is_err());
        assert!(vector("{\"data\":").is_err());
    }

    #[test]
    fn the_start_of_a_foreign_answer_is_one_clean_line() {
        assert_eq!(first_words("\n<html>\x1b[31m\n<body>").as_deref(), Some("<html>\\x1b[31m"));
        assert_eq!(first_words("  \n"), None);
    }
}
