//! Where a user goes after signing in: the `next` they came with, only if it is a page of
//! this site. Not a URL filter in general: it answers one question for one redirect.

/// Where to go when `next` is absent or leaves the site.
pub const AFTER_SIGN_IN: &str = "/orders";

/// `next` as a path on this site (path, query and fragment, normalized), or `None`.
///
/// `next` is parsed as a browser parses a link on a page of `public_url` (the WHATWG URL
/// rules of the `url` crate): backslashes count as slashes, tabs and newlines are dropped,
/// `//host`, `https:`, `javascript:` and userinfo name another origin. What stays on the
/// origin is written back from the parsed URL, so the browser reads exactly that path.
pub fn same_origin_path(next: &str, public_url: &str) -> Option<String> {
    // The setting is checked at start; an unreadable one still leaves a same-origin check.
    let base = url::Url::parse(public_url)
        .or_else(|_| url::Url::parse("http://millrace.invalid/"))
        .ok()?;
    // Only what a link within the site may be: a path, never a scheme or a host.
    let trimmed = next.trim_matches(|c: char| c <= ' ');
    if !trimmed.starts_with(['/', '\\']) {
        return None;
    }
    let target = base.join(next).ok()?;
    if target.origin() != base.origin()
        || !target.username().is_empty()
        || target.password().is_some()
    {
        return None;
    }
    let path = target.path();
    // `/.//evil.example` normalizes to the path `//evil.example`, which a Location header
    // would read as another host.
    if !path.starts_with('/') || path.starts_with("//") {
        return None;
    }
    let mut out = path.to_string();
    if let Some(query) = target.query() {
        out.push('?');
        out.push_str(query);
    }
    if let Some(fragment) = target.fragment() {
        out.push('#');
        out.push_str(fragment);
    }
    Some(out)
}

/// Where to send a user who signed in with `next`.
pub fn after_sign_in(next: Option<&str>, public_url: &str) -> String {
    next.and_then(|n| same_origin_path(n, public_url))
        .unwrap_or_else(|| AFTER_SIGN_IN.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "https://portal.example.com";

    fn check(next: &str, expected: Option<&str>) {
        assert_eq!(
            same_origin_path(next, SITE).as_deref(),
            expected,
            "next = {next:?}"
        );
    }

    #[test]
    fn paths_on_the_site_are_kept() {
        check("/orders/12", Some("/orders/12"));
        check(
            "/orders?status=late&q=PO%2012",
            Some("/orders?status=late&q=PO%2012"),
        );
        check("/orders/12#line-3", Some("/orders/12#line-3"));
        check("/orders/../admin/audit", Some("/admin/audit"));
        check("/%2F/evil.example/", Some("/%2F/evil.example/"));
        check("/@evil.example", Some("/@evil.example"));
        check("/https://evil.example", Some("/https://evil.example"));
    }

    #[test]
    fn other_origins_are_refused() {
        for next in [
            "//evil.example/",
            "/\\evil.example/",
            "\\\\evil.example/",
            "\\/evil.example/",
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/\r\n/evil.example/",
            " //evil.example/",
            "/.//evil.example/",
            "/./\\evil.example/",
            "https://evil.example/",
            "https:evil.example",
            "http:/evil.example",
            "https:/\\evil.example",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "//user@evil.example",
            "https://portal.example.com@evil.example/",
            "https://user:pw@portal.example.com/orders",
            "evil.example",
            "",
            "?next=/orders",
        ] {
            check(next, None);
        }
    }

    #[test]
    fn a_refused_next_falls_back_to_the_orders() {
        assert_eq!(after_sign_in(Some("//evil.example/"), SITE), "/orders");
        assert_eq!(after_sign_in(None, SITE), "/orders");
        assert_eq!(after_sign_in(Some("/account"), SITE), "/account");
        // Without a usable public URL the same rules hold against a stand-in origin.
        assert_eq!(
            after_sign_in(Some("/\\evil.example/"), "not a url"),
            "/orders"
        );
        assert_eq!(after_sign_in(Some("/account"), "not a url"), "/account");
    }
}
