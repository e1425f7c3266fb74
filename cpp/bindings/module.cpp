#include "bindings/common.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "streamfold C++ core";
  sf::py_bind::bind_errors(m);
  sf::py_bind::bind_ir(m);
  sf::py_bind::bind_exec(m);
  sf::py_bind::bind_passes(m);
  sf::py_bind::bind_engine(m);
  sf::py_bind::bind_hw(m);
}
