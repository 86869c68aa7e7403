//! Build step of `scripts/build.sh`: writes `<file>.br` and `<file>.gz` beside each file of
//! the site that compresses (the bundle's JS, WASM and CSS, and public/ files such as the
//! icon), so the server sends them as they are (tower-http's `ServeDir` with
//! `precompressed_br`/`precompressed_gzip`) instead of compressing them per request.
//! A copy newer than its file is kept. Does not rename or hash anything (build.sh does).
//!
//! Usage: `precompress [--quality 0-11] <site folder>` (brotli quality; gzip is always -9).

use std::fs;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// What compresses: text and WebAssembly. Images and fonts in their own formats do not.
const COMPRESSIBLE: &[&str] = &[
    "js", "mjs", "wasm", "css", "html", "svg", "ico", "json", "map", "xml",
];

fn main() {
    if let Err(e) = run(std::env::args().skip(1).collect()) {
        eprintln!("precompress: {e}");
        std::process::exit(1);
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let (quality, dir) = match args.as_slice() {
        [flag, q, dir] if flag == "--quality" => {
            let q: u32 = q
                .parse()
                .ok()
                .filter(|q| *q <= 11)
                .ok_or_else(|| format!("--quality takes 0 to 11, not {q}"))?;
            (q, PathBuf::from(dir))
        }
        [dir] => (11, PathBuf::from(dir)),
        _ => return Err("usage: precompress [--quality 0-11] <site folder>".into()),
    };
    let mut files = Vec::new();
    collect(&dir, &mut files).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for file in files {
        for (ext, encode) in [("br", brotli as Encoder), ("gz", gzip as Encoder)] {
            let out = with_extension_added(&file, ext);
            if is_newer(&out, &file) {
                continue;
            }
            write_atomically(&out, |w| encode(&file, w, quality))
                .map_err(|e| format!("writing {}: {e}", out.display()))?;
        }
    }
    Ok(())
}

type Encoder = fn(&Path, &mut dyn Write, u32) -> io::Result<()>;

fn brotli(file: &Path, w: &mut dyn Write, quality: u32) -> io::Result<()> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: quality as i32,
        // The largest standard window (16 MB): the debug bundle is larger than the default 4 MB.
        lgwin: 24,
        ..Default::default()
    };
    let mut r = BufReader::new(fs::File::open(file)?);
    brotli::BrotliCompress(&mut r, &mut { w }, &params)?;
    Ok(())
}

fn gzip(file: &Path, w: &mut dyn Write, _quality: u32) -> io::Result<()> {
    let mut r = BufReader::new(fs::File::open(file)?);
    let mut enc = flate2::write::GzEncoder::new(w, flate2::Compression::best());
    io::copy(&mut r, &mut enc)?;
    enc.finish()?;
    Ok(())
}

/// Every compressible file under `dir` (not the copies themselves).
fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e))
        {
            files.push(path);
        }
    }
    Ok(())
}

fn with_extension_added(file: &Path, ext: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// `copy` exists and was written after `original` last changed.
fn is_newer(copy: &Path, original: &Path) -> bool {
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(copy), modified(original)), (Some(c), Some(o)) if c >= o)
}

/// Writes through a temporary file renamed into place, so a server never sends half a copy.
fn write_atomically(
    out: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = with_extension_added(out, "tmp");
    {
        let mut w = BufWriter::new(fs::File::create(&tmp)?);
        write(&mut w)?;
        w.flush()?;
    }
    fs::rename(&tmp, out)
}
