//! The world-size-1 backend: every operation is the identity.

use super::base::{BackendKind, Collective, ReduceOp};
use crate::error::DistError;

/// A process group of one.
#[derive(Debug, Default, Clone, Copy)]
pub struct SingleCollective;

impl Collective for SingleCollective {
    fn rank(&self) -> usize {
        0
    }
    fn world_size(&self) -> usize {
        1
    }
    fn backend(&self) -> BackendKind {
        BackendKind::Single
    }
    fn all_reduce(&mut self, _buf: &mut [f32], _op: ReduceOp) -> Result<(), DistError> {
        Ok(())
    }
    fn broadcast(&mut self, _buf: &mut Vec<u8>, root: usize) -> Result<(), DistError> {
        if root != 0 {
            return Err(DistError::InvalidArgument {
                rank: 0,
                op: "broadcast",
                detail: format!("root {root} is not a rank of a world of 1"),
            });
        }
        Ok(())
    }
    fn all_gather(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, DistError> {
        Ok(vec![bytes.to_vec()])
    }
    fn barrier(&mut self) -> Result<(), DistError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_operations() {
        let mut c = SingleCollective;
        let mut v = vec![1.5f32, -2.0];
        c.all_reduce(&mut v, ReduceOp::Mean).unwrap();
        assert_eq!(v, [1.5, -2.0]);
        let mut b = b"abc".to_vec();
        c.broadcast(&mut b, 0).unwrap();
        assert_eq!(b, b"abc");
        assert!(c
            .broadcast(&mut b, 1)
            .unwrap_err()
            .to_string()
            .contains("root 1"));
        assert_eq!(c.all_gather(b"x").unwrap(), vec![b"x".to_vec()]);
        c.barrier().unwrap();
    }
}
