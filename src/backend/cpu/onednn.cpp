#include "backend/cpu/onednn.h"

namespace kiln::cpu {

dnnl::engine& onednn_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& onednn_stream() {
  thread_local dnnl::stream stream(onednn_engine());
  return stream;
}

dnnl::memory::desc plain_desc(const std::vector<int64_t>& dims, dnnl::memory::data_type type) {
  return strided_desc(dims, {}, type);
}

dnnl::memory::desc strided_desc(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides,
                                dnnl::memory::data_type type) {
  dnnl::memory::dims d(dims.begin(), dims.end());
  dnnl::memory::dims s(strides.begin(), strides.end());
  if (s.empty()) {
    s.resize(d.size());
    int64_t stride = 1;
    for (size_t i = d.size(); i-- > 0;) {
      s[i] = stride;
      stride *= std::max<int64_t>(d[i], 1);
    }
  }
  return dnnl::memory::desc(d, type, s);
}

dnnl::primitive_attr default_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::memory thread_scratchpad(const dnnl::memory::desc& desc) {
  thread_local std::vector<uint8_t> buffer;
  const size_t bytes = desc.get_size();
  if (buffer.size() < bytes) buffer.resize(bytes);
  return dnnl::memory(desc, onednn_engine(), bytes ? buffer.data() : nullptr);
}

Status guard_onednn(const std::string& what, const std::function<void()>& body) {
  try {
    body();
  } catch (const dnnl::error& e) {
    return internal_error(what + ": oneDNN failed: " + e.what());
  }
  return Status::ok();
}

}  // namespace kiln::cpu
