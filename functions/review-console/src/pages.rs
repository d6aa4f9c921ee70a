//! The HTML pages: minijinja templates compiled into the binary, HTML auto-escaping on (every
//! value from a listing, a seller or a reviewer is escaped), and the two static assets.

use std::sync::OnceLock;

use minijinja::Environment;
use serde_json::Value;

use crate::ConsoleError;

pub const CSS: &[u8] = include_bytes!("../static/console.css");
/// The only script: drag on a QA photo to fill a missed-damage box's numbers (they can be typed).
pub const DRAW_JS: &[u8] = include_bytes!("../static/draw.js");

#[derive(Debug, Clone, Copy)]
pub enum Page {
    Login,
    Queue,
    Listing,
    QaQueue,
    Qa,
    Message,
}

impl Page {
    fn name(self) -> &'static str {
        match self {
            Page::Login => "login.html",
            Page::Queue => "queue.html",
            Page::Listing => "listing.html",
            Page::QaQueue => "qa_queue.html",
            Page::Qa => "qa.html",
            Page::Message => "message.html",
        }
    }
}

const TEMPLATES: [(&str, &str); 8] = [
    ("base.html", include_str!("../templates/base.html")),
    ("photos.html", include_str!("../templates/photos.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("queue.html", include_str!("../templates/queue.html")),
    ("listing.html", include_str!("../templates/listing.html")),
    ("qa_queue.html", include_str!("../templates/qa_queue.html")),
    ("qa.html", include_str!("../templates/qa.html")),
    ("message.html", include_str!("../templates/message.html")),
];

fn environment() -> Result<&'static Environment<'static>, ConsoleError> {
    static ENV: OnceLock<Result<Environment<'static>, minijinja::Error>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok::<_, minijinja::Error>(env)
    })
    .as_ref()
    .map_err(|e| ConsoleError::Render {
        page: "(templates)",
        source: minijinja::Error::new(e.kind(), e.to_string()),
    })
}

/// Renders `page` with `context`.
pub fn render(page: Page, context: Value) -> Result<String, ConsoleError> {
    let failed = |source| ConsoleError::Render {
        page: page.name(),
        source,
    };
    environment()?
        .get_template(page.name())
        .map_err(failed)?
        .render(context)
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_template_compiles_and_values_are_escaped() {
        let html = render(
            Page::Message,
            json!({"title": "<script>alert(1)</script>", "message": "a & b", "me": "\"ana\""}),
        )
        .unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("a &amp; b"));
        assert!(environment().is_ok());
    }
}
