// Factories of the data-movement and shape ops (ops/tensor), listed in register.cpp.
#pragma once

#include <memory>

#include "kiln/status.h"
#include "ops/kernel.h"

namespace kiln {

#define KILN_TENSOR_FACTORY(name) Result<std::unique_ptr<OpKernel>> name(const KernelInit& init)

KILN_TENSOR_FACTORY(make_shape);
KILN_TENSOR_FACTORY(make_size);
KILN_TENSOR_FACTORY(make_reshape);
KILN_TENSOR_FACTORY(make_flatten);
KILN_TENSOR_FACTORY(make_squeeze);
KILN_TENSOR_FACTORY(make_unsqueeze);
KILN_TENSOR_FACTORY(make_identity);
KILN_TENSOR_FACTORY(make_dropout);
KILN_TENSOR_FACTORY(make_transpose);
KILN_TENSOR_FACTORY(make_depth_to_space);
KILN_TENSOR_FACTORY(make_space_to_depth);
KILN_TENSOR_FACTORY(make_concat);
KILN_TENSOR_FACTORY(make_split);
KILN_TENSOR_FACTORY(make_slice);
KILN_TENSOR_FACTORY(make_gather);
KILN_TENSOR_FACTORY(make_gather_elements);
KILN_TENSOR_FACTORY(make_gather_nd);
KILN_TENSOR_FACTORY(make_scatter_nd);
KILN_TENSOR_FACTORY(make_scatter_elements);
KILN_TENSOR_FACTORY(make_expand);
KILN_TENSOR_FACTORY(make_tile);
KILN_TENSOR_FACTORY(make_constant);
KILN_TENSOR_FACTORY(make_constant_of_shape);
KILN_TENSOR_FACTORY(make_eye_like);
KILN_TENSOR_FACTORY(make_range);
KILN_TENSOR_FACTORY(make_trilu);
KILN_TENSOR_FACTORY(make_pad);
KILN_TENSOR_FACTORY(make_cumsum);
KILN_TENSOR_FACTORY(make_one_hot);
KILN_TENSOR_FACTORY(make_non_zero);

#undef KILN_TENSOR_FACTORY

}  // namespace kiln
