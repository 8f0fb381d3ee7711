// Edits that graph passes share: who reads a value, rerouting readers, and dropping dead
// nodes and values. Node and value ids change only in compact().
#pragma once

#include <vector>

#include "ir/graph.h"

namespace kiln {

// Per value: the nodes reading it (a node appears once per input slot that reads it).
std::vector<std::vector<int>> value_consumers(const Graph& graph);
bool is_graph_output(const Graph& graph, int value);

// Makes every node read `to` where it read `from`. Graph outputs keep their value (and
// so their name): callers must not reroute a graph output.
void reroute_uses(Graph& graph, int from, int to);

// Removes the nodes marked dead and every value nothing refers to any more, renumbering
// nodes and values and fixing producers.
void compact(Graph& graph, const std::vector<bool>& dead_nodes);

}  // namespace kiln
