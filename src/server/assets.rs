//! How the site reaches the browser: every response compressed as the browser accepts it
//! (br, gzip), the bundle under `/pkg` sent from the copies `scripts/build.sh` compressed
//! beforehand, and how long a browser keeps it: a content-hashed name (listed in the site's
//! `hash.txt`) for a year without asking again, anything else only after revalidating.
//! Not the build itself: `scripts/build.sh` names, hashes and compresses the files.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use leptos::prelude::LeptosOptions;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

/// `Cache-Control` of a content-hashed file: its name changes whenever its content does.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of any other file of the bundle: kept, but revalidated (`Last-Modified`).
pub const REVALIDATE: &str = "no-cache";
/// The manifest `scripts/build.sh` writes into the site folder: `js: <hash>` per line, as
/// cargo-leptos writes it, for `js`, `wasm` and `css`.
pub const HASH_FILE: &str = "hash.txt";

/// The bundle's files as the pages name them: hashed when the site folder has a `hash.txt`.
#[derive(Clone, Debug, Default)]
pub struct Bundle {
    /// `millrace.<hash>.wasm` and its siblings, as named under `/pkg`.
    hashed: HashSet<String>,
}

impl Bundle {
    /// Reads `<site root>/hash.txt` and turns Leptos's file hashing on for it, so
    /// `HydrationScripts` and [`stylesheet_href`] name the hashed files. Without the manifest
    /// (a site built another way, or none) the plain names stay, revalidated on each use.
    pub fn load(options: &mut LeptosOptions) -> Self {
        let site_root = Path::new(options.site_root.as_ref());
        let manifest = std::env::current_dir()
            .map(|cwd| cwd.join(site_root).join(HASH_FILE))
            .unwrap_or_else(|_| site_root.join(HASH_FILE));
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            return Self::default();
        };
        // Leptos joins the name to the executable's folder; an absolute path replaces it.
        options.hash_files = true;
        options.hash_file = manifest.to_string_lossy().as_ref().into();
        let hashed = manifest_entries(&text)
            .filter(|(kind, _)| ["js", "wasm", "css"].contains(kind))
            .map(|(kind, hash)| format!("{}.{hash}.{kind}", options.output_name))
            .collect();
        Self { hashed }
    }

    /// `path` (under `/pkg`, with or without the prefix) names a hashed file.
    fn is_hashed(&self, path: &str) -> bool {
        path.rsplit('/')
            .next()
            .is_some_and(|name| self.hashed.contains(name))
    }
}

/// The `(kind, hash)` pairs of a `hash.txt`, trimmed.
fn manifest_entries(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(kind, hash)| (kind.trim(), hash.trim()))
}

/// `/pkg/millrace.<hash>.css` when the manifest `options` name (see [`Bundle::load`]) has
/// a hash for the stylesheet, as Leptos's `HashedStylesheet` would name it, else
/// `/pkg/millrace.css`. Read once per manifest rather than from the disk on every page.
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    static KNOWN: PerSite = PerSite::new(None);
    per_site(&KNOWN, options, String::clone, || {
        let text = options
            .hash_files
            .then(|| std::fs::read_to_string(options.hash_file.as_ref()).ok())
            .flatten()
            .unwrap_or_default();
        let hash = manifest_entries(&text).find(|(kind, _)| *kind == "css");
        match hash {
            Some((_, h)) => format!("/{}/{}.{h}.css", options.site_pkg_dir, options.output_name),
            None => format!("/{}/{}.css", options.site_pkg_dir, options.output_name),
        }
    })
}

/// What a site's options name, as far as the pages' asset links go.
type Site = (bool, Arc<str>, Arc<str>, Arc<str>, Arc<str>);
/// Text rendered once for a site (see [`per_site`]).
type PerSite = std::sync::Mutex<Option<(Site, String)>>;

/// `read` of the text `make` renders for the site `options` name, rendered once and kept in
/// `known` while the site stays the same (tests serve several sites from one process).
fn per_site<R>(
    known: &PerSite,
    options: &LeptosOptions,
    read: impl FnOnce(&String) -> R,
    make: impl FnOnce() -> String,
) -> R {
    let site = (
        options.hash_files,
        options.hash_file.clone(),
        options.output_name.clone(),
        options.site_root.clone(),
        options.site_pkg_dir.clone(),
    );
    let mut known = known.lock().unwrap_or_else(|p| p.into_inner());
    match known.as_ref().filter(|(k, _)| *k == site) {
        Some((_, text)) => read(text),
        None => read(&known.insert((site, make())).1),
    }
}

/// What Leptos's `HydrationScripts` renders in islands mode (the bundle's preload links and
/// its loader script) for a page whose nonce is `nonce`. Leptos reads the manifest, the
/// executable's path and their metadata on every page to name the files; here its component
/// renders once per manifest with a marker for the nonce, and each page gets that text with
/// its own nonce in. Without a nonce (none was provided) it renders as Leptos renders it.
pub fn island_scripts(options: &LeptosOptions, nonce: Option<&str>) -> String {
    use leptos::nonce::Nonce;
    use leptos::prelude::*;
    /// Stands for the nonce in the rendered text: letters only, so escaping leaves it as is.
    const MARK: &str = "MillraceNonceMark";
    let render = |nonce: Option<Nonce>| {
        Owner::new().with(|| {
            if let Some(nonce) = nonce {
                provide_context(nonce);
            }
            view! { <HydrationScripts options=options.clone() islands=true/> }.to_html()
        })
    };
    let Some(nonce) = nonce else {
        return render(None);
    };
    static KNOWN: PerSite = PerSite::new(None);
    per_site(
        &KNOWN,
        options,
        |template| template.replace(MARK, &html_escape::encode_double_quoted_attribute(nonce)),
        || render(Some(Nonce::from_value(MARK))),
    )
}

/// `/pkg/*` from the site folder, each file as its `.br` or `.gz` copy when the browser
/// accepts it and the copy exists; conditional requests answered 304.
pub fn bundle_service<S: Clone + Send + Sync + 'static>(
    options: &LeptosOptions,
    bundle: Bundle,
) -> Router<S> {
    let dir = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let files = ServeDir::new(dir)
        .append_index_html_on_directories(false)
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .nest_service(&format!("/{}", options.site_pkg_dir), files)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(bundle),
            cache_control,
        ))
}

/// A hashed file is immutable; any other file of the bundle is revalidated. Every file of
/// the bundle varies on `Accept-Encoding` (its copies), whichever variant this one is.
async fn cache_control(State(bundle): State<Arc<Bundle>>, req: Request, next: Next) -> Response {
    let hashed = bundle.is_hashed(req.uri().path());
    let mut res = next.run(req).await;
    if res.status().is_success() || res.status() == axum::http::StatusCode::NOT_MODIFIED {
        let value = if hashed { IMMUTABLE } else { REVALIDATE };
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
        vary_on_accept_encoding(&mut res);
    }
    res
}

/// A response sent encoded (a precompressed copy, chosen by `Accept-Encoding`, e.g. from
/// public/) says so to caches; the compression layer does the same for what it compresses.
async fn vary_on_encoding(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if res.headers().contains_key(header::CONTENT_ENCODING) {
        vary_on_accept_encoding(&mut res);
    }
    res
}

fn vary_on_accept_encoding(res: &mut Response) {
    let varies = res.headers().get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("accept-encoding"))
    });
    if !varies {
        res.headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// `router` with every response compressed as the request accepts (br preferred, then gzip;
/// tower-http's defaults: brotli quality 4, nothing under 32 bytes, no images, no event
/// streams), except PDFs (compressed inside already). Streamed pages stay streamed: the
/// encoder flushes whenever the page's stream waits.
pub fn compressed<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let predicate = DefaultPredicate::new().and(NotForContentType::const_new("application/pdf"));
    router
        .layer(axum::middleware::from_fn(vary_on_encoding))
        .layer(
            CompressionLayer::new()
                .br(true)
                .gzip(true)
                .compress_when(predicate),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stylesheet_is_named_by_the_manifests_css_hash_and_plainly_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = LeptosOptions::builder().output_name("millrace").build();
        options.site_pkg_dir = "pkg".into();
        assert_eq!(stylesheet_href(&options), "/pkg/millrace.css");
        let manifest = dir.path().join(HASH_FILE);
        std::fs::write(&manifest, "js: 1a\nwasm: 2b\n css : 3c \n").unwrap();
        options.hash_files = true;
        options.hash_file = manifest.to_string_lossy().as_ref().into();
        assert_eq!(stylesheet_href(&options), "/pkg/millrace.3c.css");
    }

    /// The scripts rendered once with a marker read as Leptos's component renders them on
    /// each page, hashed names or not, nonce or not.
    #[test]
    fn island_scripts_are_what_hydration_scripts_renders_for_the_page() {
        use leptos::nonce::Nonce;
        use leptos::prelude::*;
        let leptos_renders = |options: &LeptosOptions, nonce: Option<&str>| {
            Owner::new().with(|| {
                if let Some(n) = nonce {
                    provide_context(Nonce::from_value(n));
                }
                view! { <HydrationScripts options=options.clone() islands=true/> }.to_html()
            })
        };
        let dir = tempfile::tempdir().unwrap();
        let mut options = LeptosOptions::builder().output_name("millrace").build();
        options.site_pkg_dir = "pkg".into();
        for nonce in [Some("n0nce+/="), Some("a\"<b&"), None] {
            let ours = island_scripts(&options, nonce);
            assert_eq!(ours, leptos_renders(&options, nonce));
            assert!(ours.contains("/pkg/millrace.js"), "{ours}");
        }
        let manifest = dir.path().join(HASH_FILE);
        std::fs::write(&manifest, "js: 1a\nwasm: 2b\ncss: 3c\n").unwrap();
        options.hash_files = true;
        options.hash_file = manifest.to_string_lossy().as_ref().into();
        for nonce in [Some("n0nce+/="), Some("other"), None] {
            let ours = island_scripts(&options, nonce);
            assert_eq!(ours, leptos_renders(&options, nonce));
            assert!(ours.contains("/pkg/millrace.1a.js"), "{ours}");
            assert!(ours.contains("millrace.2b.wasm"), "{ours}");
            if let Some(n) = nonce {
                assert!(ours.contains(&format!("nonce=\"{n}\"")), "{ours}");
            }
        }
    }
}
