#include "ops/elementwise/broadcast.h"

#include "ops/op_util.h"

namespace kiln::elementwise {

Result<Shape> broadcast_all(const Shape* const* shapes, size_t count) {
  Shape out;
  for (size_t i = 0; i < count; ++i) {
    KILN_ASSIGN_OR_RETURN(out, broadcast_shapes(out, *shapes[i]));
  }
  return out;
}

}  // namespace kiln::elementwise
