#include "backend/cpu/weight_packs.h"

#include <algorithm>
#include <cstring>

namespace kiln::cpu {
namespace {

// Bump when layout_key() encodes differently: keys of the old encoding then never match.
constexpr int64_t kLayoutKeyVersion = 1;

void append(std::string& out, int64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
}

}  // namespace

// Winograd weights (select_winograd_convolutions) are tiles of transformed filters: the
// key is their dims and every field of oneDNN's description of the tiling. The marker
// -1 sits where a blocked key has its rank, so the two kinds never collide.
std::string wino_layout_key(const dnnl_memory_desc_t& md) {
  const dnnl_wino_desc_t& w = md.format_desc.wino_desc;
  std::string key;
  append(key, kLayoutKeyVersion);
  append(key, -1);
  append(key, md.ndims);
  for (int d = 0; d < md.ndims; ++d) append(key, md.dims[d]);
  for (int64_t field : {static_cast<int64_t>(w.wino_format), int64_t{w.r}, int64_t{w.alpha}, int64_t{w.ic},
                        int64_t{w.oc}, int64_t{w.ic_block}, int64_t{w.oc_block}, int64_t{w.ic2_block},
                        int64_t{w.oc2_block}, static_cast<int64_t>(w.size)}) {
    append(key, field);
  }
  uint32_t scale_bits = 0;
  std::memcpy(&scale_bits, &w.adj_scale, sizeof(scale_bits));
  append(key, scale_bits);
  return key;
}

std::string layout_key(const dnnl::memory::desc& desc) {
  const dnnl_memory_desc_t& md = desc.data;
  if (md.data_type != dnnl_f32 || md.extra.flags != 0) return "";
  if (md.format_kind == dnnl_format_kind_wino && md.ndims > 0 && md.ndims <= DNNL_MAX_NDIMS) {
    return wino_layout_key(md);
  }
  if (md.format_kind != dnnl_blocked) return "";
  if (md.ndims <= 0 || md.ndims > DNNL_MAX_NDIMS) return "";
  const dnnl_blocking_desc_t& b = md.format_desc.blocking;
  if (b.inner_nblks < 0 || b.inner_nblks > DNNL_MAX_NDIMS) return "";
  std::string key;
  append(key, kLayoutKeyVersion);
  append(key, md.ndims);
  for (int d = 0; d < md.ndims; ++d) {
    append(key, md.dims[d]);
    append(key, md.padded_dims[d]);
    append(key, md.padded_offsets[d]);
    // oneDNN's equality ignores the stride of a dim of size 1: so does the key.
    append(key, md.dims[d] == 1 && md.padded_dims[d] == 1 ? 0 : b.strides[d]);
  }
  append(key, md.offset0);
  append(key, b.inner_nblks);
  for (int i = 0; i < b.inner_nblks; ++i) {
    append(key, b.inner_blks[i]);
    append(key, b.inner_idxs[i]);
  }
  return key;
}

std::string packed_weights_format() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
         " (" + (v->hash ? v->hash : "") + "), layout key v" + std::to_string(kLayoutKeyVersion);
}

std::vector<std::string> packed_weights_cpu_features() {
  // Float32 layouts follow the vector width: the VNNI, BF16 and AMX levels run float32
  // on their AVX-512 core kernels, so their plans need only what those kernels need.
  using isa = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case isa::avx512_core:
    case isa::avx512_core_vnni:
    case isa::avx512_core_bf16:
    case isa::avx512_core_amx:
      return {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"};
    case isa::avx512_mic:
    case isa::avx512_mic_4ops:
      return {"avx2", "fma", "avx512f"};
    case isa::avx2:
    case isa::avx2_vnni:
      return {"avx2", "fma"};
    case isa::avx:
      return {"avx"};
    case isa::sse41:
      return {"sse4.1"};
    default:
      return {};
  }
}

WeightPacks::WeightPacks(Tensor weights, size_t input, const std::vector<PackedWeight>& from_plan)
    : weights_(std::move(weights)), input_(input) {
  if (!weights_.defined()) return;
  for (const PackedWeight& w : from_plan) {
    if (w.input == input_ && !w.layout.empty() && w.data.defined()) unused_.push_back(w);
  }
}

PackWeights WeightPacks::packer(const dnnl::memory::desc& plain) const {
  if (!weights_.defined()) return nullptr;
  return [this, plain](const dnnl::memory::desc& layout) { return get(layout, plain); };
}

dnnl::memory WeightPacks::get(const dnnl::memory::desc& layout, const dnnl::memory::desc& plain) const {
  auto& engine = onednn_engine();
  std::lock_guard<std::mutex> lock(mutex_);
  for (const InUse& u : in_use_) {
    if (u.desc == layout) return u.memory;
  }
  // The constant as it is: nothing to pack, nothing to store.
  if (layout == plain) {
    dnnl::memory m(plain, engine, const_cast<void*>(weights_.raw()));
    in_use_.push_back({layout, m, PackedWeight{}});
    return m;
  }
  const std::string key = layout_key(layout);
  const size_t size = layout.get_size();
  if (!key.empty()) {
    for (auto it = unused_.begin(); it != unused_.end(); ++it) {
      if (it->layout != key || it->data.nbytes() != size) continue;
      // The plan's bytes are used where they lie (a read-only mapping): convolution and
      // matmul primitives only read their weights, and only outputs are zero-padded.
      dnnl::memory m(layout, engine, it->data.raw());
      in_use_.push_back({layout, m, *it});
      unused_.erase(it);
      return m;
    }
  }
  auto packed = std::make_shared<dnnl::memory>(layout, engine);
  dnnl::memory src(plain, engine, const_cast<void*>(weights_.raw()));
  dnnl::reorder(src, *packed).execute(onednn_stream(), src, *packed);
  onednn_stream().wait();
  PackedWeight w;
  w.input = input_;
  w.layout = key;
  w.data = Tensor::wrap(DType::kUInt8, {static_cast<int64_t>(size)}, packed->get_data_handle(), packed);
  in_use_.push_back({layout, *packed, std::move(w)});
  return *packed;
}

std::vector<PackedWeight> WeightPacks::packed() const {
  std::vector<PackedWeight> out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const InUse& u : in_use_) {
      if (!u.weight.layout.empty()) out.push_back(u.weight);
    }
    out.insert(out.end(), unused_.begin(), unused_.end());
  }
  // Threads may have packed in any order; a plan lists them the same way every time.
  std::sort(out.begin(), out.end(), [](const PackedWeight& a, const PackedWeight& b) {
    return a.input != b.input ? a.input < b.input : a.layout < b.layout;
  });
  return out;
}

}  // namespace kiln::cpu
