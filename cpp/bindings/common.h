// Shared helpers for the bindings: NumPy <-> Tensor without copies.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <map>
#include <string>

#include "ir/tensor.h"

namespace sf::py_bind {
namespace py = pybind11;

// Wraps the array's buffer (made C-contiguous first if it is not); the
// Tensor keeps the array alive. Raises InputError for unsupported dtypes.
Tensor numpy_to_tensor(const py::handle& obj, const std::string& what);
// A NumPy view of the tensor's buffer; the array keeps the buffer alive.
py::array tensor_to_numpy(const Tensor& t);
// {name: array} -> TensorMap (zero-copy) and back. Names must be strings.
std::map<std::string, Tensor> dict_to_tensors(const py::dict& d);
py::dict tensors_to_dict(const std::map<std::string, Tensor>& m);

void bind_errors(py::module_& m);
void bind_ir(py::module_& m);
void bind_exec(py::module_& m);
void bind_passes(py::module_& m);
void bind_engine(py::module_& m);
void bind_hw(py::module_& m);

}  // namespace sf::py_bind
