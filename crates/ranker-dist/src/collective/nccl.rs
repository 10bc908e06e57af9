//! The NCCL backend (feature `nccl`), over cudarc's dynamically loaded `libcuda` and `libnccl`.
//!
//! Bootstrap mirrors torch's `broadcastUniqueNCCLID`: rank 0 creates the 128-byte unique id and stores it under
//! `{prefix}/nccl/id`; the others read it (bounded by the timeout) and every rank calls `ncclCommInitRank` on its
//! device. cudarc panics when a library is missing, so [`NcclCollective::libraries_present`] probes first and
//! absence becomes [`DistError::BackendUnavailable`]. cudarc looks for `libnccl.so` (not `libnccl.so.2`): on
//! systems with only the versioned name, add the symlink or put its directory on `LD_LIBRARY_PATH`.
//!
//! Every collective is enqueued on the backend's own stream and then waited for by a watchdog loop that polls
//! `cuStreamQuery` and `ncclCommGetAsyncError`; when the timeout expires (a dead or hung peer) the communicator is
//! aborted with `ncclCommAbort` and the call returns [`DistError::PeerTimeout`]-like [`DistError::Device`] instead of
//! hanging. `ncclCommInitRank` itself is a blocking collective that this backend cannot interrupt; it returns when
//! NCCL's own bootstrap gives up.
//!
//! Device buffers: [`NcclCollective::all_reduce_device`] takes a cudarc slice; [`NcclCollective::all_reduce_device_ptr`]
//! and [`NcclCollective::all_reduce_device_ptr_bucketed`] take a raw `CUdeviceptr` (e.g. a burn-cuda gradient's
//! `GpuResource::ptr`), which the caller must have finished writing (sync its stream first). A caller that only
//! holds a `&mut dyn Collective` reaches these through [`Collective::as_nccl`]. The [`Collective`] host-buffer
//! methods copy through the device.
//!
//! This module compiles without CUDA; it has not been run in this repository's CI (no GPU).

use std::ffi::c_void;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use cudarc::driver::{CudaContext, CudaSlice, CudaStream, DevicePtrMut};
use cudarc::nccl::{result as nccl, sys as nccl_sys};

use super::base::{BackendKind, Collective, ReduceOp};
use super::bucket::bucket_ranges;
use crate::error::DistError;
use crate::store::StoreClient;

const ID_BYTES: usize = 128;

/// A NCCL communicator bound to one CUDA device.
pub struct NcclCollective {
    rank: usize,
    world: usize,
    timeout: Duration,
    stream: Arc<CudaStream>,
    comm: nccl_sys::ncclComm_t,
    aborted: bool,
}

// SAFETY: an NCCL communicator may be used from any thread as long as calls are not concurrent; `&mut self` on
// every operation guarantees that.
unsafe impl Send for NcclCollective {}

impl std::fmt::Debug for NcclCollective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NcclCollective")
            .field("rank", &self.rank)
            .field("world", &self.world)
            .finish()
    }
}

impl NcclCollective {
    /// Whether `libcuda` and `libnccl` can be loaded (cudarc would panic on first use otherwise).
    pub fn libraries_present() -> bool {
        // SAFETY: these only try to dlopen the libraries.
        unsafe { cudarc::driver::sys::is_culib_present() && cudarc::nccl::sys::is_culib_present() }
    }

    /// Creates the communicator for `rank` of `world` on CUDA device `device`, exchanging the unique id through
    /// `store` under `{prefix}/nccl/id` (`store` may be `None` only when `world == 1`).
    pub fn connect(
        store: Option<&StoreClient>,
        prefix: &str,
        rank: usize,
        world: usize,
        device: usize,
        timeout: Duration,
    ) -> Result<NcclCollective, DistError> {
        if !Self::libraries_present() {
            return Err(DistError::BackendUnavailable {
                rank,
                backend: "nccl",
                detail: "libcuda.so or libnccl.so cannot be loaded (install NCCL, or symlink libnccl.so.2 to \
                         libnccl.so on LD_LIBRARY_PATH)"
                    .into(),
            });
        }
        let ctx = CudaContext::new(device).map_err(|e| device_err(rank, "cuCtxCreate", e))?;
        let stream = ctx
            .new_stream()
            .map_err(|e| device_err(rank, "cuStreamCreate", e))?;
        let id = exchange_id(store, prefix, rank, world, timeout)?;
        let mut comm = std::mem::MaybeUninit::<nccl_sys::ncclComm_t>::uninit();
        // SAFETY: `comm` is written by ncclCommInitRank on success; rank < world was checked by the env contract.
        let comm = unsafe {
            nccl::comm_init_rank(comm.as_mut_ptr(), world as i32, id, rank as i32)
                .map_err(|e| nccl_err(rank, "ncclCommInitRank", e))?;
            comm.assume_init()
        };
        Ok(NcclCollective {
            rank,
            world,
            timeout,
            stream,
            comm,
            aborted: false,
        })
    }

    /// The stream collectives run on (to order the caller's own work against).
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// All-reduces a device buffer in place and waits for completion.
    pub fn all_reduce_device(
        &mut self,
        buf: &mut CudaSlice<f32>,
        op: ReduceOp,
    ) -> Result<(), DistError> {
        let len = buf.len();
        let stream = Arc::clone(&self.stream);
        let (ptr, _record) = buf.device_ptr_mut(&stream);
        // SAFETY: ptr addresses `len` f32 owned by `buf`, alive for this call.
        unsafe { self.all_reduce_device_ptr(ptr, len, op) }
    }

    /// All-reduces `len` f32 at device address `ptr` in place and waits for completion.
    ///
    /// # Safety
    /// `ptr` must address `len` f32 in device memory of this communicator's device, not written concurrently,
    /// with every earlier write to it complete.
    pub unsafe fn all_reduce_device_ptr(
        &mut self,
        ptr: u64,
        len: usize,
        op: ReduceOp,
    ) -> Result<(), DistError> {
        // SAFETY: forwarded from the caller; one bucket covers the whole buffer.
        unsafe { self.all_reduce_device_ptr_bucketed(ptr, len, 0.0, op) }
    }

    /// All-reduces `len` f32 at device address `ptr` in place, cut into the buckets of [`bucket_ranges`]
    /// (`bucket_mb` MiB each, the cut of [`crate::all_reduce_bucketed`], so every rank cuts identically), enqueued
    /// as one NCCL group, and waits once for all of them.
    ///
    /// # Safety
    /// As [`NcclCollective::all_reduce_device_ptr`].
    pub unsafe fn all_reduce_device_ptr_bucketed(
        &mut self,
        ptr: u64,
        len: usize,
        bucket_mb: f64,
        op: ReduceOp,
    ) -> Result<(), DistError> {
        self.check_usable("all_reduce")?;
        let red = match op {
            ReduceOp::Sum => nccl_sys::ncclRedOp_t::ncclSum,
            ReduceOp::Mean => nccl_sys::ncclRedOp_t::ncclAvg,
        };
        let buckets = bucket_ranges(len, bucket_mb);
        if buckets.is_empty() {
            return Ok(());
        }
        let stream = self.raw_stream();
        nccl::group_start().map_err(|e| nccl_err(self.rank, "ncclGroupStart", e))?;
        let mut enqueued = Ok(());
        for range in buckets {
            let p = (ptr + (range.start * std::mem::size_of::<f32>()) as u64) as *mut c_void;
            // SAFETY: `range` lies inside the caller's `len` elements at `ptr`.
            enqueued = unsafe {
                nccl::all_reduce(
                    p,
                    p,
                    range.len(),
                    nccl_sys::ncclDataType_t::ncclFloat32,
                    red,
                    self.comm,
                    stream,
                )
            }
            .map(|_| ())
            .map_err(|e| nccl_err(self.rank, "ncclAllReduce", e));
            if enqueued.is_err() {
                break;
            }
        }
        // The group must be closed even when an enqueue failed.
        let closed = nccl::group_end().map_err(|e| nccl_err(self.rank, "ncclGroupEnd", e));
        if let Err(err) = enqueued.and(closed.map(|_| ())) {
            self.abort();
            return Err(err);
        }
        self.wait("all_reduce")
    }

    fn raw_stream(&self) -> nccl_sys::cudaStream_t {
        self.stream.cu_stream() as nccl_sys::cudaStream_t
    }

    fn check_usable(&self, op: &'static str) -> Result<(), DistError> {
        if self.aborted {
            return Err(DistError::Device {
                rank: self.rank,
                op,
                detail: "the communicator was aborted after an earlier timeout or error".into(),
            });
        }
        Ok(())
    }

    /// Waits for the stream with a deadline; aborts the communicator on timeout or an asynchronous NCCL error.
    fn wait(&mut self, op: &'static str) -> Result<(), DistError> {
        let deadline = Instant::now() + self.timeout;
        let mut pause = Duration::from_micros(20);
        loop {
            // SAFETY: the stream handle is valid for self's lifetime.
            let status = unsafe { cudarc::driver::sys::cuStreamQuery(self.stream.cu_stream()) };
            match status {
                cudarc::driver::sys::cudaError_enum::CUDA_SUCCESS => return Ok(()),
                cudarc::driver::sys::cudaError_enum::CUDA_ERROR_NOT_READY => {}
                other => {
                    self.abort();
                    return Err(DistError::Device {
                        rank: self.rank,
                        op,
                        detail: format!("cuStreamQuery: {other:?}"),
                    });
                }
            }
            let mut async_err = nccl_sys::ncclResult_t::ncclSuccess;
            // SAFETY: comm is a live communicator; async_err is a valid out-pointer.
            unsafe { nccl_sys::ncclCommGetAsyncError(self.comm, &mut async_err) };
            if async_err != nccl_sys::ncclResult_t::ncclSuccess
                && async_err != nccl_sys::ncclResult_t::ncclInProgress
            {
                self.abort();
                return Err(DistError::Device {
                    rank: self.rank,
                    op,
                    detail: format!("NCCL async error {async_err:?}"),
                });
            }
            if Instant::now() >= deadline {
                self.abort();
                return Err(DistError::Device {
                    rank: self.rank,
                    op,
                    detail: format!(
                        "not complete after {:.1}s: a peer rank is dead or hung; communicator aborted",
                        self.timeout.as_secs_f64()
                    ),
                });
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(2));
        }
    }

    fn abort(&mut self) {
        if !self.aborted {
            self.aborted = true;
            // SAFETY: comm is live and not used after this (aborted is checked by every operation).
            let _ = unsafe { nccl::comm_abort(self.comm) };
        }
    }

    fn to_device<T: cudarc::driver::DeviceRepr>(
        &self,
        host: &[T],
    ) -> Result<CudaSlice<T>, DistError> {
        self.stream
            .clone_htod(host)
            .map_err(|e| device_err(self.rank, "cuMemcpyHtoD", e))
    }

    fn to_host<T: cudarc::driver::DeviceRepr + Default + Clone>(
        &self,
        dev: &CudaSlice<T>,
    ) -> Result<Vec<T>, DistError> {
        self.stream
            .clone_dtoh(dev)
            .map_err(|e| device_err(self.rank, "cuMemcpyDtoH", e))
    }

    fn broadcast_device_bytes(
        &mut self,
        buf: &mut CudaSlice<u8>,
        root: usize,
    ) -> Result<(), DistError> {
        self.check_usable("broadcast")?;
        let len = buf.len();
        let stream = Arc::clone(&self.stream);
        let (ptr, _record) = buf.device_ptr_mut(&stream);
        let p = ptr as *mut c_void;
        // SAFETY: p addresses len bytes owned by buf.
        unsafe {
            nccl::broadcast(
                p,
                p,
                len,
                nccl_sys::ncclDataType_t::ncclUint8,
                root as i32,
                self.comm,
                self.raw_stream(),
            )
            .map_err(|e| nccl_err(self.rank, "ncclBroadcast", e))?;
        }
        self.wait("broadcast")
    }

    fn all_gather_equal(&mut self, item: &[u8]) -> Result<Vec<u8>, DistError> {
        self.check_usable("all_gather")?;
        let send = self.to_device(item)?;
        let mut recv = self
            .stream
            .alloc_zeros::<u8>(item.len() * self.world)
            .map_err(|e| device_err(self.rank, "cuMemAlloc", e))?;
        {
            let stream = Arc::clone(&self.stream);
            let (src, _r1) = cudarc::driver::DevicePtr::device_ptr(&send, &stream);
            let (dst, _r2) = recv.device_ptr_mut(&stream);
            // SAFETY: src holds item.len() bytes, dst world times as many.
            unsafe {
                nccl::all_gather(
                    src as *const c_void,
                    dst as *mut c_void,
                    item.len(),
                    nccl_sys::ncclDataType_t::ncclUint8,
                    self.comm,
                    self.raw_stream(),
                )
                .map_err(|e| nccl_err(self.rank, "ncclAllGather", e))?;
            }
        }
        self.wait("all_gather")?;
        self.to_host(&recv)
    }
}

impl Drop for NcclCollective {
    fn drop(&mut self) {
        if !self.aborted {
            // SAFETY: comm is live; destroying it after the last operation completed (every op waits).
            let _ = unsafe { nccl::comm_destroy(self.comm) };
        }
    }
}

impl Collective for NcclCollective {
    fn rank(&self) -> usize {
        self.rank
    }
    fn world_size(&self) -> usize {
        self.world
    }
    fn backend(&self) -> BackendKind {
        BackendKind::Nccl
    }

    fn all_reduce(&mut self, buf: &mut [f32], op: ReduceOp) -> Result<(), DistError> {
        if buf.is_empty() {
            return Ok(());
        }
        let mut dev = self.to_device(buf)?;
        self.all_reduce_device(&mut dev, op)?;
        self.stream
            .memcpy_dtoh(&dev, buf)
            .map_err(|e| device_err(self.rank, "cuMemcpyDtoH", e))?;
        self.stream
            .synchronize()
            .map_err(|e| device_err(self.rank, "cuStreamSynchronize", e))
    }

    fn broadcast(&mut self, buf: &mut Vec<u8>, root: usize) -> Result<(), DistError> {
        if root >= self.world {
            return Err(DistError::InvalidArgument {
                rank: self.rank,
                op: "broadcast",
                detail: format!("root {root} is not below world size {}", self.world),
            });
        }
        let mut len = self.to_device(&(buf.len() as u64).to_le_bytes())?;
        self.broadcast_device_bytes(&mut len, root)?;
        let len = self.to_host(&len)?;
        let len = u64::from_le_bytes(len[..8].try_into().expect("8 bytes")) as usize;
        buf.resize(len, 0);
        if len == 0 {
            return Ok(());
        }
        let mut data = self.to_device(buf)?;
        self.broadcast_device_bytes(&mut data, root)?;
        *buf = self.to_host(&data)?;
        Ok(())
    }

    fn all_gather(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, DistError> {
        let lens = self.all_gather_equal(&(bytes.len() as u64).to_le_bytes())?;
        let lens: Vec<usize> = lens
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")) as usize)
            .collect();
        let max = lens.iter().copied().max().unwrap_or(0);
        if max == 0 {
            return Ok(vec![Vec::new(); self.world]);
        }
        let mut padded = bytes.to_vec();
        padded.resize(max, 0);
        let all = self.all_gather_equal(&padded)?;
        Ok(all
            .chunks_exact(max)
            .zip(lens)
            .map(|(c, n)| c[..n].to_vec())
            .collect())
    }

    fn barrier(&mut self) -> Result<(), DistError> {
        let mut one = [1.0f32];
        self.all_reduce(&mut one, ReduceOp::Sum)
    }

    fn as_nccl(&mut self) -> Option<&mut NcclCollective> {
        Some(self)
    }
}

fn exchange_id(
    store: Option<&StoreClient>,
    prefix: &str,
    rank: usize,
    world: usize,
    timeout: Duration,
) -> Result<nccl_sys::ncclUniqueId, DistError> {
    let key = format!("{prefix}/nccl/id");
    let store = match store {
        Some(s) => s,
        None if world == 1 => {
            return nccl::get_uniqueid().map_err(|e| nccl_err(rank, "ncclGetUniqueId", e));
        }
        None => {
            return Err(DistError::InvalidArgument {
                rank,
                op: "nccl setup",
                detail: format!("world size {world} needs the store to share the unique id"),
            })
        }
    };
    if rank == 0 {
        let id = nccl::get_uniqueid().map_err(|e| nccl_err(rank, "ncclGetUniqueId", e))?;
        let bytes: Vec<u8> = id.internal.iter().map(|&c| c as u8).collect();
        store.set(&key, &bytes)?;
        Ok(id)
    } else {
        let bytes = store.get_timeout(&key, timeout)?;
        if bytes.len() != ID_BYTES {
            return Err(DistError::StoreValue {
                key,
                detail: format!(
                    "NCCL unique id has {} bytes, expected {ID_BYTES}",
                    bytes.len()
                ),
            });
        }
        let mut internal = [0 as std::ffi::c_char; ID_BYTES];
        for (dst, &b) in internal.iter_mut().zip(&bytes) {
            *dst = b as std::ffi::c_char;
        }
        Ok(nccl_sys::ncclUniqueId { internal })
    }
}

fn device_err(rank: usize, op: &'static str, e: cudarc::driver::DriverError) -> DistError {
    DistError::Device {
        rank,
        op,
        detail: e.to_string(),
    }
}

fn nccl_err(rank: usize, op: &'static str, e: nccl::NcclError) -> DistError {
    DistError::Device {
        rank,
        op,
        detail: format!("{e:?}"),
    }
}
