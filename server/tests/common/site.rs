//! A stand-in for the built site, for tests that start the `server` binary
//! but load no page: the binary refuses to start when the files its pages
//! link are missing, and `cargo test` does not build the wasm.

use std::path::Path;

/// Makes `dir/site` with the files a page links (empty), and returns the
/// settings that point the binary at it.
pub fn stub(dir: &Path) -> Vec<(&'static str, String)> {
    let pkg = dir.join("site").join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    // Unhashed names; the wasm is `_bg` unless cargo-leptos built it.
    for file in ["chatapp.js", "chatapp.wasm", "chatapp_bg.wasm"] {
        std::fs::write(pkg.join(file), b"").unwrap();
    }
    vec![
        ("LEPTOS_SITE_ROOT", dir.join("site").display().to_string()),
        ("LEPTOS_HASH_FILES", "false".to_owned()),
    ]
}
