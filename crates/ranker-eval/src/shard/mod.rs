//! Sharded inference: contiguous blocks of items per rank, results gathered in input order.

mod codec;
mod gather;
mod range;

pub use codec::{decode_shard, encode_shard, ShardPayload};
pub use gather::{run_sharded, ShardedRun};
pub use range::shard_range;
