//! Model artefacts as SageMaker moves them: a training job's `/opt/ml/model` folder packed as
//! `model.tar.gz`, an `S3Prefix` input copied into a container folder, and the ONNX file read
//! back out of either a bare file or a `model.tar.gz` (what an endpoint or an evaluation
//! container finds): the detector's `model.onnx`, a tabular model's `model.json`.

use std::io::Read;
use std::path::{Path, PathBuf};

use platform::store::{ObjectStore, S3Location};

use super::{MAX_MODEL_BYTES, SageMakerError};

/// The detector's model file inside an artefact.
pub const ONNX_FILE: &str = "model.onnx";
/// A tabular model's file inside an artefact.
pub const TABULAR_FILE: &str = "model.json";

/// Why an artefact could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{dir} holds no {member} and no model.tar.gz")]
    NoModel { dir: PathBuf, member: String },
    #[error("{name} is a gzip file but not a tar archive holding {member}")]
    NotInArchive { name: String, member: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ArtifactError + '_ {
    move |source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `dir`'s files (not its sub-folders' files), packed as SageMaker packs `/opt/ml/model`.
pub fn pack_dir(dir: &Path) -> Result<Vec<u8>, ArtifactError> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(encoder);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    for path in &entries {
        let name = path.file_name().map(PathBuf::from).unwrap_or_default();
        tar.append_path_with_name(path, name).map_err(io(path))?;
    }
    let encoder = tar.into_inner().map_err(io(dir))?;
    encoder.finish().map_err(io(dir))
}

/// The file `member` of an artefact: `bytes` as they are, or that file inside a gzip tar.
pub fn member_bytes(name: &str, bytes: Vec<u8>, member: &str) -> Result<Vec<u8>, ArtifactError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let not_in_archive = || ArtifactError::NotInArchive {
        name: name.into(),
        member: member.into(),
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    for entry in archive.entries().map_err(|_| not_in_archive())? {
        let mut entry = entry.map_err(|_| not_in_archive())?;
        let is_model = entry
            .path()
            .map(|p| p.file_name() == Some(std::ffi::OsStr::new(member)))
            .unwrap_or(false);
        if is_model {
            let mut model = Vec::new();
            entry
                .by_ref()
                .take(MAX_MODEL_BYTES)
                .read_to_end(&mut model)
                .map_err(|_| not_in_archive())?;
            return Ok(model);
        }
    }
    Err(not_in_archive())
}

/// The file `member` of a container's model folder: a file of that name (for the detector, any
/// `.onnx` file), else the one inside its `model.tar.gz`. Returns the file's name and bytes.
pub fn read_model_dir(dir: &Path, member: &str) -> Result<(String, Vec<u8>), ArtifactError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let wanted = |p: &PathBuf| {
        p.ends_with(member) || (member == ONNX_FILE && p.extension().is_some_and(|e| e == "onnx"))
    };
    let pick = files
        .iter()
        .find(|p| wanted(p))
        .or_else(|| files.iter().find(|p| p.ends_with("model.tar.gz")))
        .ok_or_else(|| ArtifactError::NoModel {
            dir: dir.to_path_buf(),
            member: member.into(),
        })?;
    let name = pick.display().to_string();
    let bytes = std::fs::read(pick).map_err(io(pick))?;
    Ok((name.clone(), member_bytes(&name, bytes, member)?))
}

/// Copies every object under `prefix` into `dir`, as an `S3Prefix` input in `File` mode does:
/// a key's path below the prefix is its path below `dir` (an object whose key is the prefix
/// itself keeps its file name). Returns the number of objects.
pub async fn download_prefix(
    store: &dyn ObjectStore,
    prefix: &S3Location,
    dir: &Path,
) -> Result<usize, SageMakerError> {
    let objects = store.list(&prefix.bucket, &prefix.key).await?;
    let write_error = |path: &Path, source| {
        SageMakerError::from(ArtifactError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    for object in &objects {
        let below = object.key[prefix.key.len()..].trim_start_matches('/');
        let relative = if below.is_empty() {
            object.key.rsplit('/').next().unwrap_or(&object.key)
        } else {
            below
        };
        if relative
            .split('/')
            .any(|part| part == ".." || part.is_empty())
        {
            return Err(SageMakerError::Validation(format!(
                "object key {} cannot be a file name under {}",
                object.key,
                dir.display()
            )));
        }
        let path = dir.join(relative);
        let body = store
            .get(&prefix.bucket, &object.key, MAX_MODEL_BYTES)
            .await?
            .body;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_error(parent, e))?;
        }
        std::fs::write(&path, body).map_err(|e| write_error(&path, e))?;
    }
    Ok(objects.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_model_folder_gives_its_files_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ONNX_FILE), b"onnx bytes").unwrap();
        std::fs::write(dir.path().join("training-report.json"), b"{}").unwrap();
        let packed = pack_dir(dir.path()).unwrap();
        assert_eq!(
            member_bytes("x", packed.clone(), ONNX_FILE).unwrap(),
            b"onnx bytes"
        );
        assert_eq!(
            member_bytes("x", packed, "training-report.json").unwrap(),
            b"{}"
        );
        assert_eq!(
            member_bytes("x", b"raw".to_vec(), ONNX_FILE).unwrap(),
            b"raw"
        );

        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("notes.txt"), b"no model").unwrap();
        let packed = pack_dir(other.path()).unwrap();
        assert!(matches!(
            member_bytes("x", packed, ONNX_FILE),
            Err(ArtifactError::NotInArchive { .. })
        ));
        assert!(matches!(
            member_bytes("x", vec![0x1f, 0x8b, 0, 1], ONNX_FILE),
            Err(ArtifactError::NotInArchive { .. })
        ));
        assert!(matches!(
            read_model_dir(other.path(), TABULAR_FILE),
            Err(ArtifactError::NoModel { .. })
        ));
    }
}
