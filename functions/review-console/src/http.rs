//! The console's own small HTTP model: what a handler needs from a request and gives back. The
//! local server (hyper) and the Lambda entry (an Application Load Balancer target) translate to
//! and from it, so both run the same handlers.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;

/// Largest request body read (forms only; photos are never uploaded here).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Other,
}

impl Method {
    pub fn parse(method: &str) -> Self {
        match method {
            "GET" | "HEAD" => Method::Get,
            "POST" => Method::Post,
            _ => Method::Other,
        }
    }
}

/// A request as the handlers see it. Header names are lower case.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: Method, target: &str) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Self {
            method,
            path: path.to_string(),
            query: query.to_string(),
            headers: BTreeMap::new(),
            body: Vec::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.header("cookie")?.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
    }

    /// The query string's fields.
    pub fn query_fields(&self) -> Fields {
        Fields::parse(&self.query)
    }

    /// The body's fields, when it is `application/x-www-form-urlencoded` (empty otherwise).
    pub fn form(&self) -> Fields {
        let is_form = self
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Fields::default();
        }
        Fields::parse(&String::from_utf8_lossy(&self.body))
    }
}

/// Decoded `name=value` pairs of a query string or form body, in order.
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(encoded: &str) -> Self {
        let decode = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        Self(
            encoded
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// A response: status, headers, body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// An HTML page with the console's security headers; `img_src` is where photos may load from.
    pub fn html(status: u16, body: String, img_src: &str) -> Self {
        let csp = format!(
            "default-src 'none'; img-src {img_src}; style-src 'self'; style-src-attr 'unsafe-inline'; \
             script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
        Self {
            status,
            headers: vec![
                ("content-type".into(), "text/html; charset=utf-8".into()),
                ("content-security-policy".into(), csp),
                ("x-content-type-options".into(), "nosniff".into()),
                ("referrer-policy".into(), "no-referrer".into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body: body.into_bytes(),
        }
    }

    /// `303 See Other` to `location` (after a form post, and to the login page).
    pub fn redirect(location: &str) -> Self {
        Self {
            status: 303,
            headers: vec![
                ("location".into(), location.into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body: Vec::new(),
        }
    }

    /// A static asset, cacheable.
    pub fn asset(content_type: &str, body: &'static [u8]) -> Self {
        Self {
            status: 200,
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("x-content-type-options".into(), "nosniff".into()),
                ("cache-control".into(), "max-age=300".into()),
            ],
            body: body.to_vec(),
        }
    }

    /// Plain text, for refusals that are not pages (a bad photo link).
    pub fn text(status: u16, text: &str) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type".into(), "text/plain; charset=utf-8".into()),
                ("x-content-type-options".into(), "nosniff".into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body: text.as_bytes().to_vec(),
        }
    }

    pub fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_string(), value));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_decoded() {
        let f = Fields::parse("a=1+2&b=%3Cx%3E&c=&d");
        assert_eq!(f.get("a"), Some("1 2"));
        assert_eq!(f.get("b"), Some("<x>"));
        assert_eq!(f.get("c"), None);
        assert_eq!(f.get("d"), None);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut r = Request::new(Method::Get, "/x?y=1");
        r.headers
            .insert("cookie".into(), "a=1; review_session=abc; b=2".into());
        assert_eq!(r.cookie("review_session"), Some("abc"));
        assert_eq!(r.cookie("c"), None);
        assert_eq!(r.path, "/x");
        assert_eq!(r.query_fields().get("y"), Some("1"));
    }
}
