//! `/logs/{uuid}/...`: the files a build left in `{logs_dir}/{uuid}/`, and a
//! plain HTML index of each folder, for those who may read the build's
//! tenant. Nothing outside the build's folder is ever served: `..` and
//! absolute paths are refused, and a symlink leading out is as good as absent.

use std::path::{Component, Path, PathBuf};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::auth::Auth;
use super::read::admit_reader;
use super::{WebError, WebState};

/// Registers the `/logs` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/logs/{uuid}", web::get().to(add_slash))
        .route("/logs/{uuid}/{tail:.*}", web::get().to(serve));
}

/// Relative links of an index only work below a URL ending in `/`.
async fn add_slash(req: HttpRequest) -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, format!("{}/", req.path())))
        .finish()
}

async fn serve(
    state: web::Data<WebState>,
    auth: web::Data<Auth>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let (uuid, tail) = path.into_inner();
    // The build's tenant decides who may read its logs.
    let tenant = state.store.build_tenant(&uuid).await?;
    let tenant = tenant.ok_or_else(|| WebError::NoSuchBuild(uuid.clone()))?;
    admit_reader(&state, &auth, &req, &tenant).await?;
    let file = resolve(&state.logs_dir, &uuid, &tail)?;
    let missing = || WebError::UnknownLog {
        uuid: uuid.clone(),
        path: tail.clone(),
    };
    let meta = tokio::fs::metadata(&file).await.map_err(|_| missing())?;
    if meta.is_dir() {
        if !tail.is_empty() && !tail.ends_with('/') {
            return Ok(add_slash(req).await);
        }
        return index(&file, req.path()).await;
    }
    let body = tokio::fs::read(&file).await.map_err(|_| missing())?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type(&file)))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(body))
}

/// The file `tail` of build `uuid` under `logs_dir`, with every symlink
/// resolved; refuses any path that would lead outside the build's folder.
pub fn resolve(logs_dir: &Path, uuid: &str, tail: &str) -> Result<PathBuf, WebError> {
    let bad = || WebError::BadLogPath(format!("{uuid}/{tail}"));
    if !is_plain_name(uuid) {
        return Err(bad());
    }
    let relative = Path::new(tail);
    let plain = relative.components().all(|c| match c {
        Component::Normal(part) => part.to_str().is_some_and(is_plain_name),
        Component::CurDir => true,
        _ => false,
    });
    if !plain || tail.contains('\\') {
        return Err(bad());
    }
    // A symlink the job left (to /etc, to another build) must not lead out:
    // the resolved path is checked, and it is the one read, never the link.
    let missing = || WebError::UnknownLog {
        uuid: uuid.to_string(),
        path: tail.to_string(),
    };
    let root = logs_dir.join(uuid).canonicalize().map_err(|_| missing())?;
    let file = root.join(relative).canonicalize().map_err(|_| missing())?;
    if !file.starts_with(&root) {
        return Err(missing());
    }
    Ok(file)
}

/// One path component that names something inside its folder.
fn is_plain_name(part: &str) -> bool {
    !part.is_empty() && part != "." && part != ".." && !part.contains(['/', '\\', '\0'])
}

fn content_type(file: &Path) -> &'static str {
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "css" => "text/css",
        "js" => "text/javascript",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gz" | "tgz" | "zip" | "bin" => "application/octet-stream",
        // Logs are text whatever their extension (.txt, .log, .yaml, none).
        _ => "text/plain; charset=utf-8",
    }
}

/// A plain HTML list of a folder's entries, folders first.
async fn index(dir: &Path, url_path: &str) -> Result<HttpResponse, WebError> {
    let io = |source| WebError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut entries = tokio::fs::read_dir(dir).await.map_err(io)?;
    let mut names = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(io)? {
        let is_dir = entry.file_type().await.map(|t| t.is_dir()).unwrap_or(false);
        let name = entry.file_name().to_string_lossy().into_owned();
        names.push((!is_dir, name));
    }
    names.sort();
    let items: String = names
        .iter()
        .map(|(is_file, name)| {
            let slash = if *is_file { "" } else { "/" };
            let link = percent_encode(name);
            let shown = html_escape(name);
            format!("<li><a href=\"{link}{slash}\">{shown}{slash}</a></li>\n")
        })
        .collect();
    let title = html_escape(url_path);
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n\
         <body><h1>Index of {title}</h1>\n<ul id=\"files\">\n{items}</ul></body></html>\n"
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(page))
}

/// A file name as one URL path segment: every byte but the unreserved ones encoded.
pub fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
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
