//! Device tensors that depend only on a sequence length (relative-position indices), built on the
//! host and uploaded once per length, backend and device instead of on every forward pass.
//!
//! The cache lives in a plain (non-`Module`) field, so the `Module` derive clones it along with the
//! module: clones, `valid()` copies and forks share one cache. Entries are type-erased because the
//! field cannot name the backend; an entry is found again by downcasting to the caller's value type
//! (which names the backend) and comparing devices, so an autodiff model and its inner model, or
//! two ranks on different devices, never see each other's tensors.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use burn::tensor::backend::Backend;

/// One upload: the device it lives on and the value built for it.
struct Upload<B: Backend, V> {
    device: B::Device,
    value: V,
}

type Uploads = Vec<Box<dyn Any + Send + Sync>>;

/// Per-length cache of device values, shared by clones, bounded in size.
#[derive(Clone, Default)]
pub(crate) struct LengthCache(Arc<Mutex<HashMap<usize, Uploads>>>);

impl LengthCache {
    /// Distinct lengths kept; a full cache is cleared (lengths repeat within a run, so this is rare).
    const CAPACITY: usize = 64;

    /// The value for `length` on `device`, built by `build` on the first request.
    ///
    /// `build` runs under the cache's lock, so concurrent callers build each value once.
    pub(crate) fn get_or_build<B, V>(
        &self,
        length: usize,
        device: &B::Device,
        build: impl FnOnce() -> V,
    ) -> V
    where
        B: Backend,
        V: Clone + Send + Sync + 'static,
    {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(&length) && map.len() >= Self::CAPACITY {
            map.clear();
        }
        let uploads = map.entry(length).or_default();
        let found = uploads.iter().find_map(|entry| {
            entry
                .downcast_ref::<Upload<B, V>>()
                .filter(|upload| &upload.device == device)
        });
        if let Some(upload) = found {
            return upload.value.clone();
        }
        let value = build();
        uploads.push(Box::new(Upload::<B, V> {
            device: device.clone(),
            value: value.clone(),
        }));
        value
    }

    /// Number of lengths with at least one upload.
    #[cfg(test)]
    pub(crate) fn lengths(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or(0)
    }
}

impl fmt::Debug for LengthCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.0.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "LengthCache {{ lengths: {len} }}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Int, Tensor};

    type B = burn::backend::Flex;

    #[test]
    fn builds_once_per_length_and_value_type() {
        let cache = LengthCache::default();
        let device = Default::default();
        let mut builds = 0;
        let mut get = |length: usize| {
            cache.get_or_build::<B, Tensor<B, 1, Int>>(length, &device, || {
                builds += 1;
                Tensor::arange(0..length as i64, &device)
            })
        };
        assert_eq!(get(3).dims(), [3]);
        assert_eq!(get(3).dims(), [3]);
        assert_eq!(get(4).dims(), [4]);
        assert_eq!(builds, 2);
        assert_eq!(cache.lengths(), 2);
        // Another value type under the same length is a separate entry.
        let other = cache.get_or_build::<B, usize>(3, &device, || 7);
        assert_eq!(other, 7);
    }

    #[test]
    fn clones_share_entries() {
        let cache = LengthCache::default();
        let clone = cache.clone();
        let device = Default::default();
        cache.get_or_build::<B, usize>(5, &device, || 1);
        assert_eq!(clone.get_or_build::<B, usize>(5, &device, || 2), 1);
    }
}
