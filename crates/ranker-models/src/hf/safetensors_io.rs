//! Reading and writing safetensors files as `(name, TensorData)` pairs.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use burn::tensor::{BoolStore, DType, TensorData};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::LoadError;
use crate::io::write_atomic_with;

fn to_safetensors_dtype(dtype: DType) -> Option<Dtype> {
    Some(match dtype {
        DType::F64 => Dtype::F64,
        DType::F32 | DType::Flex32 => Dtype::F32,
        DType::F16 => Dtype::F16,
        DType::BF16 => Dtype::BF16,
        DType::I64 => Dtype::I64,
        DType::I32 => Dtype::I32,
        DType::I16 => Dtype::I16,
        DType::I8 => Dtype::I8,
        DType::U64 => Dtype::U64,
        DType::U32 => Dtype::U32,
        DType::U16 => Dtype::U16,
        DType::U8 => Dtype::U8,
        DType::Bool(BoolStore::Native | BoolStore::U8) => Dtype::BOOL,
        _ => return None,
    })
}

fn from_safetensors_dtype(dtype: Dtype) -> Option<DType> {
    Some(match dtype {
        Dtype::F64 => DType::F64,
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::I64 => DType::I64,
        Dtype::I32 => DType::I32,
        Dtype::I16 => DType::I16,
        Dtype::I8 => DType::I8,
        Dtype::U64 => DType::U64,
        Dtype::U32 => DType::U32,
        Dtype::U16 => DType::U16,
        Dtype::U8 => DType::U8,
        Dtype::BOOL => DType::Bool(BoolStore::Native),
        _ => return None,
    })
}

/// Writes tensors to a safetensors file atomically (temporary file in the same directory, fsync,
/// rename), with the `{"format": "pt"}` metadata transformers requires.
///
/// # Errors
/// A dtype safetensors cannot store (quantized), duplicate names, or an I/O failure; nothing is left
/// at `path` on error.
pub fn write_safetensors(path: &Path, tensors: &[(String, TensorData)]) -> Result<(), LoadError> {
    let mut views = Vec::with_capacity(tensors.len());
    for (name, data) in tensors {
        let unsupported = || LoadError::UnsupportedDtype {
            path: path.to_path_buf(),
            key: name.clone(),
            dtype: format!("{:?}", data.dtype),
        };
        let dtype = to_safetensors_dtype(data.dtype).ok_or_else(unsupported)?;
        let view = TensorView::new(dtype, data.shape.to_vec(), data.as_bytes()).map_err(|e| {
            LoadError::Tensor {
                path: path.to_path_buf(),
                key: name.clone(),
                message: e.to_string(),
            }
        })?;
        views.push((name.as_str(), view));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _)) = views.iter().find(|(n, _)| !seen.insert(*n)) {
        return Err(LoadError::Tensor {
            path: path.to_path_buf(),
            key: dup.to_string(),
            message: "name given twice".to_string(),
        });
    }
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    write_atomic_with(path, |tmp| {
        safetensors::serialize_to_file(views, Some(metadata), tmp).map_err(std::io::Error::other)
    })
}

/// Reads every tensor of a safetensors file, in file order of names (sorted).
pub fn read_safetensors(path: &Path) -> Result<Vec<(String, TensorData)>, LoadError> {
    read_safetensors_filtered(path, |_| true)
}

/// Reads the tensors of a safetensors file whose names pass `keep` (e.g. only `head_layer.*`), sorted
/// by name. The file is memory-mapped, so skipped tensors are never read.
pub fn read_safetensors_filtered(
    path: &Path,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<(String, TensorData)>, LoadError> {
    let io_err = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    // SAFETY: the map is read-only and dropped before this function returns; a concurrent writer
    // truncating the file could fault the read, which is why our own writes go through a rename.
    #[allow(unsafe_code)]
    let mmap = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err)?;
    let tensors = SafeTensors::deserialize(&mmap).map_err(|source| LoadError::Safetensors {
        path: path.to_path_buf(),
        source,
    })?;
    let mut names: Vec<&str> = tensors.names().into_iter().filter(|n| keep(n)).collect();
    names.sort_unstable();
    names
        .into_iter()
        .map(|name| {
            let view = tensors
                .tensor(name)
                .map_err(|source| LoadError::Safetensors {
                    path: path.to_path_buf(),
                    source,
                })?;
            let dtype = from_safetensors_dtype(view.dtype()).ok_or_else(|| {
                LoadError::UnsupportedDtype {
                    path: path.to_path_buf(),
                    key: name.to_string(),
                    dtype: format!("{:?}", view.dtype()),
                }
            })?;
            let data =
                TensorData::from_bytes_vec(view.data().to_vec(), view.shape().to_vec(), dtype);
            Ok((name.to_string(), data))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.safetensors");
        let tensors = vec![
            (
                "b.weight".to_string(),
                TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]),
            ),
            ("a.ids".to_string(), TensorData::new(vec![7i64, -1], [2])),
        ];
        write_safetensors(&path, &tensors).unwrap();
        let back = read_safetensors(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].0, "a.ids");
        assert_eq!(back[0].1, tensors[1].1);
        assert_eq!(back[1].1, tensors[0].1);
        let only_b = read_safetensors_filtered(&path, |n| n.starts_with("b.")).unwrap();
        assert_eq!(only_b.len(), 1);
    }

    #[test]
    fn duplicate_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.safetensors");
        let t = TensorData::new(vec![1.0f32], [1]);
        let err =
            write_safetensors(&path, &[("x".into(), t.clone()), ("x".into(), t)]).unwrap_err();
        assert!(err.to_string().contains("'x'"), "{err}");
        assert!(!path.exists());
    }
}
