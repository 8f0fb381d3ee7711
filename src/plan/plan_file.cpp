#include "plan/plan_file.h"

namespace kiln {

Status write_plan_file(const std::string& path, const Graph&, const BuildOptions&) {
  return unsupported("writing plan files is not implemented yet: " + path);
}

Result<PlanContents> read_plan_file(const std::string& path) {
  return unsupported("reading plan files is not implemented yet: " + path);
}

}  // namespace kiln
