#include <iostream>

#include "kiln/engine.h"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  auto e = kiln::Engine::from_onnx_file(argv[1]);
  if (!e.is_ok()) {
    std::cerr << e.status().to_string() << "\n";
    return 1;
  }
  std::cout << "loaded " << (*e)->num_nodes() << " nodes\n";
  return 0;
}
