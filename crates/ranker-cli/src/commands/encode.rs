//! `ranker encode`: a backbone's token ids and last hidden states, for parity checks.

use std::io::Write;

use anyhow::{anyhow, Context};
use burn::tensor::backend::Backend;
use ranker_models::encode::{EncodeInput, Encoder};

use crate::args::EncodeArgs;
use crate::device::on_device;
use crate::io::{input_name, open_input, LineChunks, Output};

/// Inputs encoded per call (the encoder batches them by length internally).
const CHUNK_LINES: usize = 256;

pub(crate) fn run(args: EncodeArgs) -> anyhow::Result<()> {
    let device = crate::device::resolve(args.device)?;
    on_device!(device, B, dev => encode::<B>(&args, &dev))
}

fn encode<B: Backend>(args: &EncodeArgs, device: &B::Device) -> anyhow::Result<()> {
    let encoder = Encoder::<B>::load(&args.model, device)
        .with_context(|| format!("loading the model in {}", args.model.display()))?;
    let encoder = match args.precision.compute_dtype() {
        Some(dtype) => encoder.with_compute_dtype(dtype),
        None => encoder,
    };
    let name = input_name(&args.input);
    let mut lines = LineChunks::new(open_input(&args.input)?, CHUNK_LINES);
    let mut output = Output::create(args.output.as_deref())?;
    loop {
        let chunk = lines
            .next_chunk()
            .with_context(|| format!("reading {name}"))?;
        if chunk.is_empty() {
            break;
        }
        let inputs = chunk
            .iter()
            .map(|(line_no, line)| {
                serde_json::from_str::<EncodeInput>(line)
                    .map_err(|e| anyhow!("{name}:{line_no}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let outputs = encoder.encode(&inputs).map_err(|e| {
            // The encoder names the input by its index within the chunk; report the file line.
            anyhow!(
                "{name}: lines {}–{}: {e}",
                chunk[0].0,
                chunk[chunk.len() - 1].0
            )
        })?;
        for out in outputs {
            serde_json::to_writer(&mut output, &out)?;
            output.write_all(b"\n")?;
        }
    }
    output.finish()
}
