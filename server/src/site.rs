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

use leptos::config::LeptosOptions;
use tower_http::services::ServeDir;

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

/// The build's files (`/pkg/…`: wasm, script, style). A browser that takes
/// brotli gets the `.br` file the release build wrote beside each one
/// (`cargo leptos build --release --precompress`, level 11): 358 KB for the
/// wasm, against 456 KB compressed per request. Any other gets gzip from the
/// compression layer, level 4 (502 KB), not the build's `.gz` files, which
/// cargo-leptos writes at a faster level (572 KB). Without the `.br` files (a
/// development build) every file is compressed per request.
pub fn assets(options: &LeptosOptions) -> ServeDir {
    ServeDir::new(Path::new(&*options.site_root).join(&*options.site_pkg_dir)).precompressed_br()
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
