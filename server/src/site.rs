//! Where the pages' assets are, found without any `LEPTOS_*` variable.
//!
//! `cargo leptos` sets those variables for development and tests. A
//! production binary is started without them, and Leptos' own defaults
//! (`target/site`, unhashed names) would serve pages that link files which
//! do not exist: the UI would never hydrate. So unless a variable says
//! otherwise, the site is the `site/` directory next to the binary (or
//! `../site`, where `cargo leptos build` puts it), and hashed names are used
//! when the build's hash file sits next to the binary. The files a page
//! will link are checked before serving; missing, the server refuses to
//! start and says what to do.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use leptos::config::LeptosOptions;
use tower::util::MapResponseLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::monitoring::RouteLabel;

/// The site's name: `name` of `[[workspace.metadata.leptos]]` in Cargo.toml.
const OUTPUT_NAME: &str = "chatapp";

/// The site's options, checked: see the module docs.
pub fn locate() -> Result<LeptosOptions, String> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|path| path.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let options = options(&exe_dir)?;
    check(&options, &exe_dir)?;
    Ok(options)
}

/// The site's options: Leptos' from the environment, with the defaults
/// above where a variable is unset. `exe_dir` is the binary's directory.
fn options(exe_dir: &Path) -> Result<LeptosOptions, String> {
    let mut options = leptos::config::get_configuration(None)
        .map_err(|error| format!("the LEPTOS_* settings are invalid: {error}"))?
        .leptos_options;
    // Baked in by cargo-leptos; a plain `cargo build` leaves it empty.
    if options.output_name.is_empty() {
        options.output_name = OUTPUT_NAME.into();
    }
    if std::env::var_os("LEPTOS_SITE_ROOT").is_none()
        && let Some(root) = [exe_dir.join("site"), exe_dir.join("../site")]
            .into_iter()
            .find(|root| root.join(&*options.site_pkg_dir).is_dir())
    {
        options.site_root = root.display().to_string().into();
    }
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        options.hash_files = exe_dir.join(&*options.hash_file).is_file();
    }
    Ok(options)
}

/// The build's files (`/pkg/…`: wasm, script, style), as a router to nest
/// at `/pkg`. A browser that takes brotli gets the `.br` file the release
/// build wrote beside each one (`cargo leptos build --release
/// --precompress`, level 11): 358 KB for the wasm, against 456 KB
/// compressed per request. Any other gets gzip from the compression layer,
/// level 4 (502 KB), not the build's `.gz` files, which cargo-leptos writes
/// at a faster level (572 KB). Without the `.br` files (a development
/// build) every file is compressed per request.
///
/// Each file found is kept by browsers for good when its name carries its
/// hash (else revalidated), and every answer is counted as one route.
pub fn assets(options: &LeptosOptions) -> Router {
    let dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let route = format!("/{}/{{asset}}", options.site_pkg_dir);
    let policy = HeaderValue::from_static(if options.hash_files {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    Router::new()
        .fallback_service(ServeDir::new(dir).precompressed_br())
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            move |response: &Response| response.status().is_success().then(|| policy.clone()),
        ))
        .layer(MapResponseLayer::new(move |mut response: Response| {
            response.extensions_mut().insert(RouteLabel(route.clone()));
            response
        }))
}

/// The script and wasm a page links, as paths under the site root, the way
/// Leptos names them (`HydrationScripts`).
fn linked_assets(options: &LeptosOptions, exe_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let pkg = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let name = &*options.output_name;
    if !options.hash_files {
        // Leptos adds `_bg` to the wasm's name unless cargo-leptos built it.
        let wasm_suffix = if option_env!("LEPTOS_OUTPUT_NAME").is_none() {
            "_bg"
        } else {
            ""
        };
        return Ok(vec![
            pkg.join(format!("{name}.js")),
            pkg.join(format!("{name}{wasm_suffix}.wasm")),
        ]);
    }
    let hash_path = exe_dir.join(&*options.hash_file);
    let hashes = std::fs::read_to_string(&hash_path)
        .map_err(|error| format!("cannot read {}: {error}", hash_path.display()))?;
    let hash_of = |kind: &str| {
        hashes.lines().find_map(|line| {
            let (file, hash) = line.split_once(':')?;
            (file.trim() == kind).then(|| hash.trim().to_owned())
        })
    };
    let (Some(js), Some(wasm)) = (hash_of("js"), hash_of("wasm")) else {
        return Err(format!("{} names no js and wasm hash", hash_path.display()));
    };
    Ok(vec![
        pkg.join(format!("{name}.{js}.js")),
        pkg.join(format!("{name}.{wasm}.wasm")),
    ])
}

/// Refuses to serve pages whose scripts are missing.
fn check(options: &LeptosOptions, exe_dir: &Path) -> Result<(), String> {
    let missing: Vec<String> = linked_assets(options, exe_dir)?
        .into_iter()
        .filter(|path| !path.is_file())
        .map(|path| path.display().to_string())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the pages would link files that do not exist: {}. Build the site \
         (`cargo leptos build --release`) and put target/site next to the \
         binary as site/ (with target/release/hash.txt beside the binary), \
         or point LEPTOS_SITE_ROOT at it.",
        missing.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::Request;
    use axum::http::StatusCode;
    use tower::ServiceExt;

    async fn get(router: &Router, path: &str) -> Response {
        let request = Request::builder()
            .uri(path)
            .header(header::ACCEPT_ENCODING, "br")
            .body(Body::empty())
            .unwrap();
        router.clone().oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn the_build_files_go_out_as_brotli_kept_for_good_and_counted_as_one_route() {
        let root = std::env::temp_dir().join(format!("chatapp-assets-{}", std::process::id()));
        let pkg = root.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("chatapp.abc.js"), "console.log(1)").unwrap();
        std::fs::write(pkg.join("chatapp.abc.js.br"), "brotli bytes").unwrap();
        let mut options = LeptosOptions::builder().output_name("chatapp").build();
        options.site_root = root.display().to_string().into();
        options.hash_files = true;
        let assets = assets(&options);

        let found = get(&assets, "/chatapp.abc.js").await;
        assert_eq!(found.status(), StatusCode::OK);
        assert_eq!(found.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(found.headers()[header::CONTENT_LENGTH], "12");
        assert_eq!(
            found.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let label = found.extensions().get::<RouteLabel>().map(|l| l.0.as_str());
        assert_eq!(label, Some("/pkg/{asset}"));

        // Not found: no cache policy of its own (the security headers' no-store applies).
        let missing = get(&assets, "/chatapp.zzz.js").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert!(!missing.headers().contains_key(header::CACHE_CONTROL));
        let label = missing
            .extensions()
            .get::<RouteLabel>()
            .map(|l| l.0.as_str());
        assert_eq!(label, Some("/pkg/{asset}"));

        options.hash_files = false;
        let unhashed = get(&super::assets(&options), "/chatapp.abc.js").await;
        assert_eq!(unhashed.headers()[header::CACHE_CONTROL], "no-cache");
        std::fs::remove_dir_all(root).unwrap();
    }
}
