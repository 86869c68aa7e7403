//! Millrace: a supplier collaboration portal for manufacturers that run Odoo.
//! The browser entry point (`hydrate`) and the module tree; the server entry is `main.rs`.

pub mod api;
pub mod app;
pub mod domain;
pub mod model;
#[cfg(feature = "ssr")]
pub mod odoo_double;

/// Every server-side binary (the server, the tests, the benchmarks) allocates with
/// mimalloc: rendering a page is mostly allocating and freeing small strings, where glibc's
/// allocator cost a fifth of the CPU (bench/README.md, "Supplier inbox").
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[cfg(feature = "ssr")]
pub mod rest;
#[cfg(feature = "ssr")]
pub mod server;

/// Entry point called by the hydration script the server puts in <head>.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Islands mode: only `#[island]` components come alive (`app::Enhance`); the rest of
    // every page is server-rendered HTML and plain forms.
    leptos::mount::hydrate_islands();
}
