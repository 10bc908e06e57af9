//! Forcing burn's lazy parameter initialization.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};

struct Touch;

impl<B: Backend> ModuleVisitor<B> for Touch {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, Int>>) {
        let _ = param.val();
    }
    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, Bool>>) {
        let _ = param.val();
    }
}

/// Initializes every parameter of `module` now.
///
/// burn 0.21 initializes parameters lazily, on first use, and a clone of a module whose parameters are still
/// uninitialized runs the initializer again on its own — so clones of a freshly `init`ed model given to several
/// workers would hold *different* random weights. Call this once before cloning such a model.
pub fn materialize_params<B: Backend, M: Module<B>>(module: &M) {
    module.visit(&mut Touch);
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;
    use burn::nn::LinearConfig;

    use super::*;

    #[test]
    fn clones_after_materializing_share_the_weights() {
        let device = Default::default();
        let lazy = LinearConfig::new(4, 3).init::<Flex>(&device);
        let a = lazy.clone();
        let b = lazy.clone();
        assert_ne!(
            a.weight.val().into_data(),
            b.weight.val().into_data(),
            "burn's lazy init draws per clone"
        );
        let eager = LinearConfig::new(4, 3).init::<Flex>(&device);
        materialize_params(&eager);
        assert_eq!(
            eager.clone().weight.val().into_data(),
            eager.clone().weight.val().into_data()
        );
    }
}
