//! The markup: escaping, a table row, a section, and the page around
//! them. Every piece of text that came from the cluster or the request
//! passes through [`escape`] on its way in; nothing else builds HTML.

use std::fmt::Write as _;

/// `text` safe in an element or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `value` as one component of a URL's path or query.
pub fn url_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(char::from(byte)),
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    out
}

/// One cell of a table: text, and optionally a link or a class that
/// colours it (`good`, `warn`, `bad`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub class: Option<&'static str>,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell { text: text.into(), ..Default::default() }
    }

    pub fn link(text: impl Into<String>, href: String) -> Cell {
        Cell { text: text.into(), href: Some(href), class: None }
    }

    pub fn class(mut self, class: Option<&'static str>) -> Cell {
        self.class = class;
        self
    }
}

/// A `<tr>` keyed by `key` (the page finds rows to patch by it).
pub fn row(key: &str, cells: &[Cell]) -> String {
    let mut out = format!("<tr data-key=\"{}\">", escape(key));
    for cell in cells {
        match cell.class {
            Some(class) => {
                let _ = write!(out, "<td class=\"{class}\">");
            }
            None => out.push_str("<td>"),
        }
        match &cell.href {
            Some(href) => {
                let _ = write!(out, "<a href=\"{}\">{}</a>", escape(href), escape(&cell.text));
            }
            None => out.push_str(&escape(&cell.text)),
        }
        out.push_str("</td>");
    }
    out.push_str("</tr>");
    out
}

/// A `<p>` that says why a section shows nothing, or what it leaves out.
pub fn notice(class: &str, text: &str) -> String {
    format!("<p class=\"notice {class}\">{}</p>", escape(text))
}

/// What the header bar shows and links to.
#[derive(Debug, Clone, Default)]
pub struct Chrome<'a> {
    /// The page's title (after "Capstan — ").
    pub title: &'a str,
    /// Which view's tab is current (`workloads`, `nodes`, …).
    pub current: &'a str,
    /// `Some(namespace)`: the namespace picker shows it (`""`: all namespaces).
    pub namespace: Option<&'a str>,
    /// The namespaces to offer; empty when the user may not list them (a
    /// text field then takes a name).
    pub namespaces: &'a [String],
    /// "jane (dev, ops)"; `None` on the sign-in page.
    pub user: Option<&'a str>,
    /// The server-sent events address the page subscribes to, if live.
    pub live: Option<&'a str>,
}

/// The tabs: (view, path, label).
const TABS: [(&str, &str); 4] =
    [("workloads", "Workloads"), ("services", "Services"), ("nodes", "Nodes"), ("events", "Events")];

/// A whole page around `body`.
pub fn page(chrome: &Chrome<'_>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    out.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(out, "<title>Capstan — {}</title>", escape(chrome.title));
    out.push_str("<link rel=\"stylesheet\" href=\"/assets/style.css\">");
    out.push_str("<script src=\"/assets/app.js\" defer></script></head>");
    match chrome.live {
        Some(live) => {
            let _ = write!(out, "<body data-live=\"{}\">", escape(live));
        }
        None => out.push_str("<body>"),
    }
    out.push_str("<header><span class=\"brand\">Capstan</span>");
    if let Some(user) = chrome.user {
        out.push_str("<nav>");
        let query = chrome.namespace.map(|ns| format!("?namespace={}", url_component(ns))).unwrap_or_default();
        for (view, label) in TABS {
            let current = if view == chrome.current { " class=\"current\"" } else { "" };
            let _ = write!(out, "<a href=\"/{view}{query}\"{current}>{label}</a>");
        }
        out.push_str("</nav>");
        if let Some(namespace) = chrome.namespace {
            out.push_str(&namespace_picker(chrome.current, namespace, chrome.namespaces));
        }
        let _ = write!(
            out,
            "<span class=\"user\">{}</span><form method=\"post\" action=\"/signout\" class=\"signout\">\
             <button type=\"submit\">Sign out</button></form><span id=\"live\" class=\"live\"></span>",
            escape(user)
        );
    }
    out.push_str("</header><main>");
    out.push_str(body);
    out.push_str("</main></body></html>");
    out
}

/// A `<select>` of the namespaces (and "all namespaces"), or a text field
/// when the user may not list namespaces.
fn namespace_picker(view: &str, current: &str, namespaces: &[String]) -> String {
    let mut out = format!("<form method=\"get\" action=\"/{view}\" class=\"namespace\"><label>Namespace ");
    if namespaces.is_empty() {
        let _ = write!(
            out,
            "<input name=\"namespace\" value=\"{}\" placeholder=\"all namespaces\" size=\"16\"></label>\
             <button type=\"submit\">Show</button></form>",
            escape(current)
        );
        return out;
    }
    out.push_str("<select name=\"namespace\" id=\"namespace\">");
    let all = if current.is_empty() { " selected" } else { "" };
    let _ = write!(out, "<option value=\"\"{all}>all namespaces</option>");
    for namespace in namespaces {
        let selected = if namespace == current { " selected" } else { "" };
        let name = escape(namespace);
        let _ = write!(out, "<option value=\"{name}\"{selected}>{name}</option>");
    }
    out.push_str("</select></label><noscript><button type=\"submit\">Show</button></noscript></form>");
    out
}

/// A section: its heading, an optional notice, and its table (or why there
/// is none). `id` is what live patches name.
pub fn section(id: &str, title: &str, header: &[String], rows: Result<&[String], &str>, note: Option<&str>) -> String {
    let mut out = format!("<section id=\"{id}\"><h2>{}</h2>", escape(title));
    let _ = write!(out, "<div class=\"note\">{}</div>", note.map(|n| notice("info", n)).unwrap_or_default());
    match rows {
        Ok(rows) => {
            out.push_str("<table><thead><tr>");
            for column in header {
                let _ = write!(out, "<th>{}</th>", escape(column));
            }
            let _ = write!(out, "</tr></thead><tbody data-columns=\"{}\">", header.len());
            for row in rows {
                out.push_str(row);
            }
            out.push_str("</tbody></table>");
        }
        Err(refused) => out.push_str(&notice("refused", refused)),
    }
    out.push_str("</section>");
    out
}

/// The sign-in form, with what went wrong last time, if anything.
pub fn sign_in(error: Option<&str>) -> String {
    let mut body = String::from("<section class=\"signin\"><h2>Sign in</h2>");
    body.push_str(
        "<p>Paste a bearer token the API server accepts (a line of its token file, or a service \
         account's). The dashboard calls the API server with it, so you see what your RBAC roles let you read.</p>",
    );
    if let Some(error) = error {
        body.push_str(&notice("refused", error));
    }
    body.push_str(
        "<form method=\"post\" action=\"/signin\"><label>Token <input type=\"password\" name=\"token\" \
         id=\"token\" autocomplete=\"off\" autofocus required></label> <button type=\"submit\" id=\"signin\">Sign \
         in</button></form></section>",
    );
    page(&Chrome { title: "Sign in", ..Default::default() }, &body)
}

/// A page that says what was wrong with the request.
pub fn problem(chrome: &Chrome<'_>, heading: &str, detail: &str) -> String {
    let body = format!(
        "<section class=\"problem\"><h2>{}</h2>{}<p><a href=\"/\">Back to the overview</a></p></section>",
        escape(heading),
        notice("refused", detail)
    );
    page(chrome, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_cluster_cannot_become_markup() {
        assert_eq!(
            escape("<script>alert(\"x\")</script>&'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        let row = row("a\"b", &[Cell::link("<b>", "/logs/x?c=\"".into()).class(Some("bad"))]);
        assert_eq!(
            row,
            "<tr data-key=\"a&quot;b\"><td class=\"bad\"><a href=\"/logs/x?c=&quot;\">&lt;b&gt;</a></td></tr>"
        );
    }

    #[test]
    fn url_components_escape_everything_but_unreserved_characters() {
        assert_eq!(url_component("shop"), "shop");
        assert_eq!(url_component("a b/c?d&e"), "a%20b%2Fc%3Fd%26e");
    }

    #[test]
    fn the_namespace_picker_offers_every_namespace_or_a_field() {
        let offered = namespace_picker("workloads", "shop", &["default".into(), "shop".into()]);
        assert!(offered.contains("<option value=\"shop\" selected>shop</option>"), "{offered}");
        assert!(offered.contains("<option value=\"\">all namespaces</option>"), "{offered}");
        let field = namespace_picker("workloads", "shop", &[]);
        assert!(field.contains("<input name=\"namespace\" value=\"shop\""), "{field}");
    }
}
