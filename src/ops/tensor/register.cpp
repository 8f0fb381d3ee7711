// The data-movement and shape ops. One entry per opset where the semantics (or where the
// arguments live) changed; versions in between only widened the type lists, which the
// kernels handle by dispatching on the element size. Entries of one op share a factory,
// which reads init.opset to tell the versions apart.
#include "ops/registry.h"
#include "ops/tensor/tensor_ops.h"

namespace kiln {

std::span<const OpRegistration> tensor_ops() {
  static const OpRegistration kOps[] = {
      {"", "Shape", 1, make_shape},
      {"", "Shape", 15, make_shape},  // start/end
      {"", "Size", 1, make_size},
      {"", "Reshape", 1, make_reshape},  // shape attribute
      {"", "Reshape", 5, make_reshape},  // shape input
      {"", "Reshape", 14, make_reshape},  // allowzero
      {"", "Flatten", 1, make_flatten},
      {"", "Squeeze", 1, make_squeeze},  // axes attribute (11: negative axes)
      {"", "Squeeze", 13, make_squeeze},  // axes input
      {"", "Unsqueeze", 1, make_unsqueeze},
      {"", "Unsqueeze", 13, make_unsqueeze},
      {"", "Transpose", 1, make_transpose},
      {"", "Concat", 1, make_concat},  // axis optional (default 1)
      {"", "Concat", 4, make_concat},  // axis required
      {"", "Split", 1, make_split},  // split attribute or input
      {"", "Split", 2, make_split},  // split attribute
      {"", "Split", 13, make_split},  // split input
      {"", "Split", 18, make_split},  // num_outputs
      {"", "Slice", 1, make_slice},  // attributes
      {"", "Slice", 10, make_slice},  // inputs, steps
      {"", "Gather", 1, make_gather},
      {"", "GatherElements", 11, make_gather_elements},
      {"", "GatherND", 11, make_gather_nd},
      {"", "GatherND", 12, make_gather_nd},  // batch_dims
      {"", "ScatterND", 11, make_scatter_nd},
      {"", "ScatterND", 16, make_scatter_nd},  // reduction add/mul (18: max/min)
      {"", "ScatterElements", 11, make_scatter_elements},
      {"", "ScatterElements", 16, make_scatter_elements},  // reduction
      {"", "Scatter", 9, make_scatter_elements},  // the deprecated name (9-10)
      {"", "Expand", 8, make_expand},
      {"", "Tile", 6, make_tile},
      {"", "ConstantOfShape", 9, make_constant_of_shape},
      {"", "Constant", 1, make_constant},
      {"", "Range", 11, make_range},
      {"", "Range", 27, make_range},  // stash_type for 16-bit floats
      {"", "Identity", 1, make_identity},
      {"", "Dropout", 1, make_dropout},  // ratio attribute, mask of the data dtype
      {"", "Dropout", 10, make_dropout},  // bool mask
      {"", "Dropout", 12, make_dropout},  // ratio and training_mode inputs
      {"", "Trilu", 14, make_trilu},
      {"", "Pad", 1, make_pad},  // paddings attribute
      {"", "Pad", 2, make_pad},  // pads attribute
      {"", "Pad", 11, make_pad},  // pads and constant_value inputs
      {"", "Pad", 18, make_pad},  // axes input (19: wrap mode)
      {"", "CumSum", 11, make_cumsum},
      {"", "OneHot", 9, make_one_hot},
      {"", "NonZero", 9, make_non_zero},
      {"", "DepthToSpace", 1, make_depth_to_space},
      {"", "DepthToSpace", 11, make_depth_to_space},  // mode
      {"", "SpaceToDepth", 1, make_space_to_depth},
      {"", "SpaceToDepth", 28, make_space_to_depth},  // mode
      {"", "EyeLike", 9, make_eye_like},
  };
  return kOps;
}

}  // namespace kiln
