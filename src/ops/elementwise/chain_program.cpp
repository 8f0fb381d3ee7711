// Reading and checking kiln::ElementwiseChain programs (format in chain.h), and giving
// each intermediate result a register: results die at their last reader, and a result
// never shares a register with its own operands, so the kernel's loops need no aliasing.
#include <string>

#include "ops/elementwise/chain.h"
#include "ops/op_util.h"

namespace kiln::elementwise {

int chain_op_arity(ChainOp op) {
  switch (op) {
    case ChainOp::kAdd: case ChainOp::kSub: case ChainOp::kMul: case ChainOp::kDiv:
    case ChainOp::kPow: case ChainOp::kMax: case ChainOp::kMin: case ChainOp::kLeakyRelu:
      return 2;
    case ChainOp::kRelu: case ChainOp::kSigmoid: case ChainOp::kTanh: case ChainOp::kExp:
    case ChainOp::kLog: case ChainOp::kNeg: case ChainOp::kAbs: case ChainOp::kSqrt:
    case ChainOp::kErf: case ChainOp::kReciprocal: case ChainOp::kFloor: case ChainOp::kCeil:
    case ChainOp::kGeluErf: case ChainOp::kGeluTanh: case ChainOp::kSoftsign: case ChainOp::kHardSwish:
      return 1;
    case ChainOp::kClip: case ChainOp::kHardSigmoid:
      return 3;
  }
  return 0;
}

int chain_op_params(ChainOp op) {
  switch (op) {
    case ChainOp::kLeakyRelu: return 1;
    case ChainOp::kClip: case ChainOp::kHardSigmoid: return 2;
    default: return 0;
  }
}

const char* chain_op_name(ChainOp op) {
  switch (op) {
    case ChainOp::kAdd: return "Add";
    case ChainOp::kSub: return "Sub";
    case ChainOp::kMul: return "Mul";
    case ChainOp::kDiv: return "Div";
    case ChainOp::kPow: return "Pow";
    case ChainOp::kMax: return "Max";
    case ChainOp::kMin: return "Min";
    case ChainOp::kRelu: return "Relu";
    case ChainOp::kSigmoid: return "Sigmoid";
    case ChainOp::kTanh: return "Tanh";
    case ChainOp::kExp: return "Exp";
    case ChainOp::kLog: return "Log";
    case ChainOp::kNeg: return "Neg";
    case ChainOp::kAbs: return "Abs";
    case ChainOp::kSqrt: return "Sqrt";
    case ChainOp::kErf: return "Erf";
    case ChainOp::kReciprocal: return "Reciprocal";
    case ChainOp::kFloor: return "Floor";
    case ChainOp::kCeil: return "Ceil";
    case ChainOp::kGeluErf: return "Gelu";
    case ChainOp::kGeluTanh: return "GeluTanh";
    case ChainOp::kSoftsign: return "Softsign";
    case ChainOp::kHardSwish: return "HardSwish";
    case ChainOp::kLeakyRelu: return "LeakyRelu";
    case ChainOp::kClip: return "Clip";
    case ChainOp::kHardSigmoid: return "HardSigmoid";
  }
  return "?";
}

namespace {

Status bad_program(const Node& node, size_t instruction, const std::string& what) {
  return invalid_model(node.describe() + ": attribute 'program', instruction " + std::to_string(instruction) +
                       ": " + what);
}

// Gives every result but the last a register, freed after its last reader has run.
Status allocate_registers(const Node& node, ChainProgram& p) {
  const size_t n = p.code.size();
  std::vector<size_t> last_read(n, 0);
  for (size_t k = 0; k < n; ++k) {
    for (int j = 0; j < p.code[k].arity; ++j) {
      const ChainOperand& a = p.code[k].args[j];
      if (a.kind == ChainOperand::Kind::kResult) last_read[a.index] = k;
    }
  }
  std::vector<int> free_registers;
  size_t used = 0;
  for (size_t k = 0; k < n; ++k) {
    ChainInstruction& ins = p.code[k];
    if (k + 1 < n) {
      if (free_registers.empty()) free_registers.push_back(static_cast<int>(used++));
      ins.dst = free_registers.back();
      free_registers.pop_back();
      if (last_read[k] <= k) free_registers.push_back(ins.dst);  // never read: dead at once
    }
    for (int j = 0; j < ins.arity; ++j) {
      const ChainOperand& a = ins.args[j];
      if (a.kind != ChainOperand::Kind::kResult || last_read[a.index] != k) continue;
      // Freed once, even when this instruction reads the result in two operands.
      bool first = true;
      for (int i = 0; i < j; ++i) {
        first = first && !(ins.args[i].kind == a.kind && ins.args[i].index == a.index);
      }
      if (first) free_registers.push_back(p.code[a.index].dst);
    }
  }
  if (used > kMaxChainTemps) {
    return invalid_model(node.describe() + ": attribute 'program' keeps " + std::to_string(used) +
                         " intermediate results alive at once (at most " + std::to_string(kMaxChainTemps) + ")");
  }
  p.num_temps = used;
  return Status::ok();
}

}  // namespace

Result<ChainProgram> parse_chain_program(const Node& node) {
  ChainProgram p;
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> words, attr_ints(node, "program"));
  KILN_ASSIGN_OR_RETURN(p.immediates, attr_floats(node, "immediates"));
  p.num_inputs = node.inputs.size();
  if (p.num_inputs == 0 || p.num_inputs > kMaxChainInputs) {
    return invalid_model(node.describe() + ": needs 1 to " + std::to_string(kMaxChainInputs) + " inputs (got " +
                         std::to_string(p.num_inputs) + ")");
  }
  for (size_t i = 0; i < p.num_inputs; ++i) {
    if (node.inputs[i] == kNoValue) return invalid_model(node.describe() + ": input " + std::to_string(i) + " is omitted");
  }
  if (words.empty() || words.size() % kInstructionWidth != 0 ||
      words.size() / kInstructionWidth > kMaxChainInstructions) {
    return invalid_model(node.describe() + ": attribute 'program' must hold 1 to " +
                         std::to_string(kMaxChainInstructions) + " instructions of " +
                         std::to_string(kInstructionWidth) + " ints (got " + std::to_string(words.size()) + " ints)");
  }
  if (p.immediates.size() > kMaxChainImmediates) {
    return invalid_model(node.describe() + ": attribute 'immediates' holds " + std::to_string(p.immediates.size()) +
                         " values (at most " + std::to_string(kMaxChainImmediates) + ")");
  }
  const size_t n = words.size() / kInstructionWidth;
  for (size_t k = 0; k < n; ++k) {
    const int64_t* w = &words[k * kInstructionWidth];
    ChainInstruction ins;
    ins.op = static_cast<ChainOp>(w[0]);
    ins.arity = chain_op_arity(ins.op);
    if (ins.arity == 0) return bad_program(node, k, "unknown opcode " + std::to_string(w[0]));
    const int first_param = ins.arity - chain_op_params(ins.op);
    for (int j = 0; j < 3; ++j) {
      const int64_t v = w[1 + j];
      const std::string operand = std::string("operand ") + char('a' + j) + " (" + std::to_string(v) + ") of " +
                                  chain_op_name(ins.op);
      if (j >= ins.arity) {
        if (v != 0) return bad_program(node, k, operand + " must be 0: the op takes " + std::to_string(ins.arity));
        continue;
      }
      ChainOperand& a = ins.args[j];
      if (v < 0) {
        const uint64_t index = static_cast<uint64_t>(-(v + 1));
        if (index >= p.immediates.size()) {
          return bad_program(node, k, operand + " names an immediate past the " +
                                          std::to_string(p.immediates.size()) + " given");
        }
        a = {ChainOperand::Kind::kImmediate, static_cast<int>(index)};
        continue;
      }
      if (j >= first_param) return bad_program(node, k, operand + " is a parameter and must be an immediate");
      if (static_cast<uint64_t>(v) < p.num_inputs) {
        a = {ChainOperand::Kind::kInput, static_cast<int>(v)};
      } else if (static_cast<uint64_t>(v) - p.num_inputs < k) {
        a = {ChainOperand::Kind::kResult, static_cast<int>(v - static_cast<int64_t>(p.num_inputs))};
      } else {
        return bad_program(node, k, operand + " names no input or earlier result (" + std::to_string(p.num_inputs) +
                                        " inputs, " + std::to_string(k) + " earlier results)");
      }
    }
    p.code.push_back(ins);
  }
  KILN_RETURN_IF_ERROR(allocate_registers(node, p));
  return p;
}

}  // namespace kiln::elementwise
