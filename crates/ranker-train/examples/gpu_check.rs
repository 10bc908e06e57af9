//! One-GPU check of the device-side gradient all-reduce, for a machine with a CUDA GPU
//! (`experiments/gpu/check.sh` runs it; build with `--features cuda`).
//!
//! It probes the CUDA libraries (cudarc panics on a missing one, so absence is reported first),
//! prints the device, joins a one-rank NCCL process group through an in-process rendezvous store,
//! reports which float primitive `burn::backend::Cuda` has (`CubeTensor`, or burn-fusion's
//! `FusionTensor` in a build with `--features cuda,fusion`), computes the gradient of a small MLP
//! on `Autodiff<Cuda>`, flattens it with the trainer's parameter table and reduces it with the
//! trainer's own entry point (`gradient_reduce::all_reduce_flat_gradient`). It checks that the
//! device path ran, that the raw device pointer handed to NCCL addresses exactly the tensor's
//! values (also for a view with an offset), and that the one-rank sum leaves the buffer bitwise
//! unchanged (one and several buckets, a small and a 64 MiB buffer). A fusion build runs the same
//! checks again on the un-fused `CubeBackend`, so both primitives are covered; every check name
//! starts with the primitive it ran on (`cube` or `fusion`).
//!
//! Output: one `PASS name: detail` or `FAIL name: detail` line per check, `INFO` lines, and a
//! final `SUMMARY` line. Exit status 0 when every check passed, 1 when one failed, 2 when the GPU
//! stack (libcuda, libnvrtc, libnccl, CUDA headers) is missing.
//!
//! Usage: `gpu_check [DEVICE_ORDINAL]` (default 0).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use burn::backend::cuda::CudaDevice;
use burn::backend::{Autodiff, Cuda};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, ElementConversion, Tensor, TensorData};
#[cfg(feature = "fusion")]
use burn_cubecl::{cubecl::cuda::CudaRuntime, CubeBackend};
use ranker_dist::{BackendChoice, BackendKind, DistEnv, DistOptions, StoreServer};
use ranker_train::gradient_reduce::{
    all_reduce_flat_gradient, cuda_primitive, with_cuda_buffer, CudaPrimitive, ReducePath,
};
use ranker_train::optim::ParamTable;

/// burn-cuda without fusion, which a fusion build checks as well.
#[cfg(feature = "fusion")]
type Unfused = CubeBackend<CudaRuntime, f32, i32, u8>;

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    hidden: Linear<B>,
    out: Linear<B>,
}

impl<B: Backend> Mlp<B> {
    fn new(device: &B::Device) -> Self {
        Mlp {
            hidden: LinearConfig::new(16, 40).init(device),
            out: LinearConfig::new(40, 3).init(device),
        }
    }

    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.out
            .forward(burn::tensor::activation::gelu(self.hidden.forward(x)))
    }
}

#[derive(Default)]
struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    fn check(&mut self, name: &str, ok: bool, detail: impl AsRef<str>) {
        if ok {
            self.passed += 1;
            println!("PASS {name}: {}", detail.as_ref());
        } else {
            self.failed += 1;
            println!("FAIL {name}: {}", detail.as_ref());
        }
    }
}

fn main() -> ExitCode {
    let ordinal: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("usage: gpu_check [DEVICE_ORDINAL]");
            return ExitCode::from(2);
        }
    };
    if !gpu_stack_present() {
        return ExitCode::from(2);
    }
    print_device_info(ordinal);
    let mut report = Report::default();
    if let Err(message) = run_checks(ordinal, &mut report) {
        report.check("setup", false, message);
    }
    println!(
        "SUMMARY gpu_check: {} passed, {} failed",
        report.passed, report.failed
    );
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Probes what cudarc (libcuda, libnccl) and cubecl-cuda (libnvrtc, the CUDA headers) load at run
/// time; prints one line per piece and returns whether all are there.
fn gpu_stack_present() -> bool {
    // SAFETY: these only try to dlopen the libraries.
    let libs = unsafe {
        [
            (
                "libcuda",
                cudarc::driver::sys::is_culib_present(),
                "the NVIDIA driver (libcuda.so.1)",
            ),
            (
                "libnvrtc",
                cudarc::nvrtc::sys::is_culib_present(),
                "libnvrtc.so or libnvrtc.so.12 on LD_LIBRARY_PATH (CUDA 13 ships only libnvrtc.so.13: symlink it as libnvrtc.so)",
            ),
            (
                "libnccl",
                cudarc::nccl::sys::is_culib_present(),
                "libnccl.so on LD_LIBRARY_PATH (NCCL ships libnccl.so.2: symlink it as libnccl.so)",
            ),
        ]
    };
    let mut ok = true;
    for (name, present, hint) in libs {
        if present {
            println!("INFO {name}: found");
        } else {
            println!("MISSING {name}: not loadable; needs {hint}");
            ok = false;
        }
    }
    match cuda_headers() {
        Some(dir) => println!("INFO cuda headers: {}", dir.display()),
        None => {
            println!(
                "MISSING cuda headers: cubecl-cuda compiles kernels with NVRTC against \
                 $CUDA_PATH/include/cuda_runtime.h (default /usr/local/cuda); set CUDA_PATH"
            );
            ok = false;
        }
    }
    ok
}

/// The include directory cubecl-cuda will use (its `install::cuda_path` rule), if it has
/// `cuda_runtime.h`.
fn cuda_headers() -> Option<PathBuf> {
    let root = match std::env::var_os("CUDA_PATH") {
        Some(path) => PathBuf::from(path),
        None => ["/usr/local/cuda", "/opt/cuda"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .or_else(|| {
                PathBuf::from("/usr/bin/nvcc")
                    .exists()
                    .then(|| "/usr".into())
            })?,
    };
    let include = root.join("include");
    include.join("cuda_runtime.h").is_file().then_some(include)
}

fn print_device_info(ordinal: usize) {
    let mut driver = 0;
    let (mut nvrtc_major, mut nvrtc_minor) = (0, 0);
    // SAFETY: plain version queries with valid out-pointers; the libraries were found above.
    unsafe {
        let _ = cudarc::driver::sys::cuInit(0);
        let _ = cudarc::driver::sys::cuDriverGetVersion(&mut driver);
        let _ = cudarc::nvrtc::sys::nvrtcVersion(&mut nvrtc_major, &mut nvrtc_minor);
    }
    println!(
        "INFO cuda driver API {}.{}, nvrtc {nvrtc_major}.{nvrtc_minor}, nccl {}, cudarc bindings for CUDA {}",
        driver / 1000,
        (driver % 1000) / 10,
        cudarc::nccl::result::get_nccl_version()
            .map(|v| v.to_string())
            .unwrap_or_else(|e| format!("unknown ({e:?})")),
        option_env!("CUDARC_CUDA_VERSION").unwrap_or("(unset)"),
    );
    if nvrtc_major * 1000 + nvrtc_minor * 10 > driver {
        println!(
            "WARN nvrtc {nvrtc_major}.{nvrtc_minor} is newer than the driver's CUDA {}.{}: the driver may refuse \
             its PTX (CUDA_ERROR_UNSUPPORTED_PTX_VERSION); put an NVRTC no newer than the driver first on LD_LIBRARY_PATH",
            driver / 1000,
            (driver % 1000) / 10
        );
    }
    match cudarc::driver::CudaContext::device_count() {
        Ok(n) => println!("INFO cuda devices: {n}"),
        Err(e) => println!("INFO cuda devices: unknown ({e})"),
    }
    match cudarc::driver::CudaContext::new(ordinal) {
        Ok(ctx) => {
            let name = ctx.name().unwrap_or_else(|e| format!("unknown ({e})"));
            let cc = ctx
                .compute_capability()
                .map(|(a, b)| format!("{a}.{b}"))
                .unwrap_or_else(|e| format!("unknown ({e})"));
            let mem = ctx
                .total_mem()
                .map(|b| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64))
                .unwrap_or_else(|e| format!("unknown ({e})"));
            println!("INFO device {ordinal}: {name}, compute capability {cc}, {mem}");
        }
        Err(e) => println!("INFO device {ordinal}: cannot open ({e})"),
    }
}

fn run_checks(ordinal: usize, report: &mut Report) -> Result<(), String> {
    let primitive = cuda_primitive::<Cuda>();
    report.check(
        "backend type",
        primitive.is_some(),
        match primitive {
            Some(p) => format!("burn::backend::Cuda's float primitive is {p}"),
            None => "burn::backend::Cuda's float primitive is not one gradient_reduce knows".into(),
        },
    );

    // A one-rank process group through an in-process store, as `launch` would set it up.
    let token = format!("gpu-check-{}", std::process::id());
    let store = StoreServer::bind("127.0.0.1:0", &token).map_err(|e| e.to_string())?;
    let vars: HashMap<String, String> = [
        ("RANK", "0".to_string()),
        ("LOCAL_RANK", ordinal.to_string()),
        ("WORLD_SIZE", "1".to_string()),
        ("LOCAL_WORLD_SIZE", "1".to_string()),
        ("MASTER_ADDR", "127.0.0.1".to_string()),
        ("MASTER_PORT", store.local_addr().port().to_string()),
        ("RANKER_STORE_TOKEN", token.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let env = DistEnv::from_map(&vars).map_err(|e| e.to_string())?;
    let options = DistOptions {
        backend: BackendChoice::Nccl,
        timeout: Duration::from_secs(60),
        cuda_device: Some(ordinal),
    };
    let mut pg = ranker_dist::init(env, &options).map_err(|e| format!("process group: {e}"))?;
    report.check(
        "nccl process group",
        pg.collective().backend() == BackendKind::Nccl && pg.collective().as_nccl().is_some(),
        format!(
            "backend {}, world {}, unique id exchanged through the store",
            pg.collective().backend(),
            pg.world_size()
        ),
    );

    check_device_path::<Cuda>(ordinal, &mut pg, report)?;
    #[cfg(feature = "fusion")]
    check_device_path::<Unfused>(ordinal, &mut pg, report)?;

    pg.finish().map_err(|e| e.to_string())?;
    drop(store);
    Ok(())
}

/// The gradient, raw-pointer and all-reduce checks on backend `B`, named after its primitive.
fn check_device_path<B: Backend<Device = CudaDevice>>(
    ordinal: usize,
    pg: &mut ranker_dist::ProcessGroup,
    report: &mut Report,
) -> Result<(), String> {
    let tag = match cuda_primitive::<B>() {
        Some(CudaPrimitive::Cube) => "cube",
        Some(CudaPrimitive::Fusion) => "fusion",
        None => return Err(format!("{} is not burn-cuda", std::any::type_name::<B>())),
    };
    let mut report = Tagged { tag, report };
    let report = &mut report;

    // The gradient of a small MLP, flattened like the trainer does.
    let device = CudaDevice::new(ordinal);
    <Autodiff<B> as Backend>::seed(&device, 7);
    let model = Mlp::<Autodiff<B>>::new(&device);
    let x = Tensor::<Autodiff<B>, 2>::random([32, 16], Distribution::Normal(0.0, 1.0), &device);
    let target = Tensor::<Autodiff<B>, 2>::random([32, 3], Distribution::Normal(0.0, 1.0), &device);
    let loss = (model.forward(x) - target).powi_scalar(2).mean();
    let loss_share: f64 = loss.clone().into_scalar().elem();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let table = ParamTable::of(&model);
    let flat = table.flatten::<B>(&grads, &device);
    let expected = values(flat.clone());
    report.check(
        "gradient",
        expected.len() == table.numel()
            && expected.iter().all(|v| v.is_finite())
            && expected.iter().any(|v| *v != 0.0),
        format!(
            "{} finite values, not all zero; loss {loss_share:.6}",
            expected.len()
        ),
    );

    // The raw pointer the trainer hands NCCL addresses exactly the tensor's values.
    let ctx = cudarc::driver::CudaContext::new(ordinal).map_err(|e| e.to_string())?;
    let (flat, lent) = with_cuda_buffer(flat, |buffer| {
        (buffer, read_device(&ctx, buffer.ptr, buffer.len))
    })
    .map_err(|e| e.to_string())?;
    match lent {
        Some((buffer, read)) => {
            report.check(
                "gradient buffer lent in place",
                !buffer.copied && buffer.len == expected.len(),
                format!(
                    "{} f32 at {:#x}, copied: {}",
                    buffer.len, buffer.ptr, buffer.copied
                ),
            );
            report.check(
                "raw device pointer",
                read.as_deref().is_ok_and(|r| same_bits(r, &expected)),
                match &read {
                    Ok(r) => mismatch(r, &expected),
                    Err(e) => format!("cuMemcpyDtoH failed: {e}"),
                },
            );
        }
        None => report.check(
            "gradient buffer lent in place",
            false,
            "not lent (not burn-cuda f32?)",
        ),
    }

    // A view at an offset (the parent dropped, so the view owns its memory alone).
    let parent: Vec<f32> = (0..(64 + 1000)).map(|i| i as f32 * 0.5 - 7.0).collect();
    let view = Tensor::<B, 1>::from_data(TensorData::new(parent.clone(), [parent.len()]), &device)
        .slice(64..64 + 1000);
    let (_, lent) = with_cuda_buffer(view, |buffer| {
        (buffer, read_device(&ctx, buffer.ptr, buffer.len))
    })
    .map_err(|e| e.to_string())?;
    match lent {
        Some((buffer, read)) => {
            println!(
                "INFO view at element offset 64: lent {} (copied: {})",
                if buffer.copied {
                    "as a copy"
                } else {
                    "in place"
                },
                buffer.copied
            );
            report.check(
                "raw device pointer of a view",
                read.as_deref().is_ok_and(|r| same_bits(r, &parent[64..])),
                match &read {
                    Ok(r) => mismatch(r, &parent[64..]),
                    Err(e) => format!("cuMemcpyDtoH failed: {e}"),
                },
            );
        }
        None => report.check("raw device pointer of a view", false, "not lent"),
    }

    // The trainer's entry point: one bucket, then ragged buckets of 1 KiB.
    let mut flat = flat;
    for bucket_mb in [25.0, 1.0 / 1024.0] {
        let loss =
            Tensor::<B, 1>::from_data(TensorData::new(vec![loss_share as f32], [1]), &device);
        let reduced = all_reduce_flat_gradient(flat, loss, pg.collective(), bucket_mb, &device)
            .map_err(|e| e.to_string())?;
        report.check(
            &format!("device all-reduce path (bucket_mb {bucket_mb})"),
            reduced.path == ReducePath::Device,
            format!("path: {}", reduced.path),
        );
        let got = values(reduced.flat.clone());
        report.check(
            &format!("one-rank sum is the identity (bucket_mb {bucket_mb})"),
            same_bits(&got, &expected),
            mismatch(&got, &expected),
        );
        let want_loss = f64::from(loss_share as f32);
        let got_loss: f64 = reduced.loss_share.clone().into_scalar().elem();
        report.check(
            &format!("loss share carried (bucket_mb {bucket_mb})"),
            got_loss.to_bits() == want_loss.to_bits(),
            format!("{got_loss} vs {want_loss}"),
        );
        flat = reduced.flat;
    }

    // A 64 MiB buffer in 4 MiB buckets: 16 NCCL calls in one group.
    let big = Tensor::<B, 1>::random([16 << 20], Distribution::Uniform(-1.0, 1.0), &device);
    let big_expected = values(big.clone());
    let started = std::time::Instant::now();
    let half = Tensor::<B, 1>::from_floats([0.5], &device);
    let reduced = all_reduce_flat_gradient(big, half, pg.collective(), 4.0, &device)
        .map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    let got = values(reduced.flat);
    report.check(
        "64 MiB in 16 buckets",
        reduced.path == ReducePath::Device && same_bits(&got, &big_expected),
        format!(
            "path: {}, {}, {:.1} ms including the joins and the loss read",
            reduced.path,
            mismatch(&got, &big_expected),
            elapsed.as_secs_f64() * 1e3
        ),
    );

    Ok(())
}

/// A [`Report`] whose check names start with a tag.
struct Tagged<'a> {
    tag: &'static str,
    report: &'a mut Report,
}

impl Tagged<'_> {
    fn check(&mut self, name: &str, ok: bool, detail: impl AsRef<str>) {
        self.report
            .check(&format!("{} {name}", self.tag), ok, detail);
    }
}

fn values<B: Backend>(t: Tensor<B, 1>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("f32 data")
}

fn read_device(
    ctx: &std::sync::Arc<cudarc::driver::CudaContext>,
    ptr: u64,
    len: usize,
) -> Result<Vec<f32>, String> {
    ctx.bind_to_thread().map_err(|e| e.to_string())?;
    let mut host = vec![0f32; len];
    // SAFETY: `with_cuda_buffer` lends `len` f32 at `ptr`, alive and complete during the closure.
    unsafe { cudarc::driver::result::memcpy_dtoh_sync(&mut host, ptr) }
        .map_err(|e| e.to_string())?;
    Ok(host)
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn mismatch(got: &[f32], want: &[f32]) -> String {
    if got.len() != want.len() {
        return format!("{} values, expected {}", got.len(), want.len());
    }
    match got
        .iter()
        .zip(want)
        .position(|(x, y)| x.to_bits() != y.to_bits())
    {
        None => format!("{} values bitwise equal", got.len()),
        Some(i) => format!(
            "{} of {} values differ; first at {i}: {} vs {}",
            got.iter()
                .zip(want)
                .filter(|(x, y)| x.to_bits() != y.to_bits())
                .count(),
            got.len(),
            got[i],
            want[i]
        ),
    }
}
