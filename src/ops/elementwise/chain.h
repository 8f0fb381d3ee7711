// kiln::ElementwiseChain: several float32 elementwise ops (made by fuse_elementwise_chains)
// run as one node, so each element is loaded and stored once instead of once per op.
//
// The node's attributes hold a small straight-line program:
//   program     ints, kInstructionWidth per instruction: opcode, then operands a, b, c
//   immediates  floats: the constants the operands name
// An operand >= 0 names a slot: slots [0, num_inputs) are the node's inputs (converted to
// float32 when they are not, which is how a Cast on a chain input is folded in); slot
// num_inputs + k is the result of instruction k, which later instructions only may read.
// An operand < 0 names immediates[-1 - operand]. Operands an opcode does not take are 0.
// The last instruction's result is the output, of the inputs' broadcast shape.
//
// The format is shared by the pass that writes it and the kernel that runs it, and
// parse_chain_program() is the one place that checks it: the pass only emits programs it
// accepts, and a corrupted plan gets an error naming the node instead of a crash.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"
#include "ops/kernel.h"

namespace kiln::elementwise {

enum class ChainOp : int64_t {
  // Binary: a op b, broadcast.
  kAdd = 1,
  kSub = 2,
  kMul = 3,
  kDiv = 4,
  kPow = 5,
  kMax = 6,  // NaN propagates, as in Max/Min
  kMin = 7,
  // Unary: f(a).
  kRelu = 20,
  kSigmoid = 21,
  kTanh = 22,
  kExp = 23,
  kLog = 24,
  kNeg = 25,
  kAbs = 26,
  kSqrt = 27,
  kErf = 28,
  kReciprocal = 29,
  kFloor = 30,
  kCeil = 31,
  kGeluErf = 32,
  kGeluTanh = 33,
  kSoftsign = 34,
  kHardSwish = 35,
  // Unary with parameters, which must be immediates: f(a; b) and f(a; b, c).
  kLeakyRelu = 40,    // b = alpha
  kClip = 41,         // b = min, c = max
  kHardSigmoid = 42,  // b = alpha, c = beta
};

constexpr size_t kInstructionWidth = 4;
constexpr size_t kMaxChainInputs = 16;
constexpr size_t kMaxChainInstructions = 128;
constexpr size_t kMaxChainImmediates = 1024;
// Intermediate results alive at once (one block-sized register each).
constexpr size_t kMaxChainTemps = 8;
// Output dims after merging those every input walks contiguously (the kernel's index
// mapping keeps them on the stack).
constexpr size_t kMaxChainRank = 16;

// Operands an opcode reads (1 to 3); 0 for an unknown opcode.
int chain_op_arity(ChainOp op);
// How many of those operands are parameters that must be immediates (trailing ones).
int chain_op_params(ChainOp op);
const char* chain_op_name(ChainOp op);

// The operand that names immediates[index].
constexpr int64_t chain_immediate(size_t index) { return -1 - static_cast<int64_t>(index); }

struct ChainOperand {
  enum class Kind { kInput, kResult, kImmediate };
  Kind kind = Kind::kImmediate;
  int index = 0;  // input number, instruction number, or immediate number
};

struct ChainInstruction {
  ChainOp op = ChainOp::kAdd;
  int arity = 0;
  std::array<ChainOperand, 3> args{};
  int dst = -1;  // temp register of the result; -1 for the last instruction (the output)
};

struct ChainProgram {
  size_t num_inputs = 0;
  size_t num_temps = 0;  // registers the instructions' results need, reused once dead
  std::vector<ChainInstruction> code;
  std::vector<float> immediates;
};

// Reads and checks the node's program against its input count; errors name the node.
Result<ChainProgram> parse_chain_program(const Node& node);

// Whether the kernel reads inputs of `dtype` (converting them to float32 on load).
bool chain_loads_dtype(DType dtype);

Result<std::unique_ptr<OpKernel>> make_elementwise_chain(const KernelInit& init);

}  // namespace kiln::elementwise
