//! Where burn-cuda keeps compiled kernels (PTX) and autotune results between processes.
//!
//! Without a persistent cache every process compiles every kernel it uses with NVRTC on first use (the
//! bulk of the time to the first step), and every rank of a node does it again. `RANKER_KERNEL_CACHE`
//! names the directory (default `$XDG_CACHE_HOME/llm-ranker/kernels`, else `~/.cache/llm-ranker/kernels`);
//! all processes of a node that see the same directory share it. cubecl reads its configuration once, so
//! [`configure`] must run before the first CUDA tensor is made.

use std::path::PathBuf;

/// The environment variable naming the kernel cache directory.
pub const KERNEL_CACHE_VAR: &str = "RANKER_KERNEL_CACHE";

/// The cache directory: `RANKER_KERNEL_CACHE`, else the user cache directory's `llm-ranker/kernels`.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var(KERNEL_CACHE_VAR) {
        return Some(PathBuf::from(dir));
    }
    var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|cache| cache.join("llm-ranker").join("kernels"))
}

/// Points cubecl's PTX and autotune caches at [`cache_dir`] (once per process; later calls do nothing),
/// keeping whatever else a `cubecl.toml` and the `CUBECL_*` variables set. Returns the directory used.
#[cfg(feature = "cuda")]
pub fn configure() -> Option<PathBuf> {
    configure_with(|_| {})
}

/// [`configure`], with `adjust` applied to the rest of cubecl's configuration first (the GPU benchmark
/// logs kernel launches this way). Only the first call of either in a process takes effect.
#[cfg(feature = "cuda")]
pub fn configure_with(
    adjust: impl FnOnce(&mut burn_cubecl::cubecl::config::CubeClRuntimeConfig),
) -> Option<PathBuf> {
    use std::sync::OnceLock;

    use burn_cubecl::cubecl::config::cache::CacheConfig;
    use burn_cubecl::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};

    static CONFIGURED: OnceLock<Option<PathBuf>> = OnceLock::new();
    CONFIGURED
        .get_or_init(|| {
            let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
            adjust(&mut config);
            let dir = usable_cache_dir();
            if let Some(dir) = &dir {
                config.compilation.cache = Some(CacheConfig::File(dir.clone()));
                config.autotune.cache = CacheConfig::File(dir.clone());
                tracing::info!("kernel cache: {}", dir.display());
            }
            CubeClRuntimeConfig::set(config);
            dir
        })
        .clone()
}

/// [`cache_dir`], created; `None` (with a warning) when it cannot be.
#[cfg(feature = "cuda")]
fn usable_cache_dir() -> Option<PathBuf> {
    let dir = cache_dir()?;
    match std::fs::create_dir_all(&dir) {
        Ok(()) => Some(dir),
        Err(e) => {
            tracing::warn!(
                "kernel cache {}: {e}; kernels are compiled afresh in every process",
                dir.display()
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_wins_then_the_user_cache_dir() {
        // The only test that touches these variables; the originals are put back.
        let saved: Vec<_> = [KERNEL_CACHE_VAR, "XDG_CACHE_HOME", "HOME"]
            .into_iter()
            .map(|name| (name, std::env::var_os(name)))
            .collect();
        std::env::set_var(KERNEL_CACHE_VAR, "chosen-dir");
        std::env::set_var("XDG_CACHE_HOME", "xdg-cache");
        assert_eq!(cache_dir(), Some(PathBuf::from("chosen-dir")));
        std::env::remove_var(KERNEL_CACHE_VAR);
        assert_eq!(
            cache_dir(),
            Some(PathBuf::from("xdg-cache/llm-ranker/kernels"))
        );
        std::env::remove_var("XDG_CACHE_HOME");
        std::env::set_var("HOME", "home-dir");
        assert_eq!(
            cache_dir(),
            Some(PathBuf::from("home-dir/.cache/llm-ranker/kernels"))
        );
        for (name, value) in saved {
            match value {
                Some(v) => std::env::set_var(name, v),
                None => std::env::remove_var(name),
            }
        }
    }
}
