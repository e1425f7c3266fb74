// C++ errors become the Python classes in streamfold.errors, so users catch
// streamfold.ModelError etc. and read .hint, .node, .key as attributes.
#include <fmt/format.h>

#include "bindings/common.h"
#include "ir/errors.h"

namespace sf::py_bind {

namespace {
void raise(const char* cls_name, const StreamfoldError& e, py::dict fields) {
  py::gil_scoped_acquire gil;
  py::object cls = py::module_::import("streamfold.errors").attr(cls_name);
  // Messages quote names from the model; never let odd bytes turn a typed
  // error into a UnicodeDecodeError.
  auto text = [](const std::string& s) { return py::bytes(s).attr("decode")("utf-8", "replace"); };
  fields["hint"] = text(e.hint());
  py::object inst = cls(text(e.what()), **fields);
  PyErr_SetObject(cls.ptr(), inst.ptr());
}
}  // namespace

void bind_errors(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const UnsupportedOpError& e) {
      py::dict f;
      auto text = [](const std::string& s) { return py::bytes(s).attr("decode")("utf-8", "replace"); };
      f["node"] = text(e.node());
      f["op_type"] = text(e.op_type());
      f["domain"] = text(e.domain());
      raise("UnsupportedOpError", e, f);
    } catch (const ModelError& e) {
      py::dict f;
      f["where"] = py::bytes(e.where()).attr("decode")("utf-8", "replace");
      raise("ModelError", e, f);
    } catch (const InputError& e) {
      raise("InputError", e, py::dict());
    } catch (const ConfigError& e) {
      py::dict f;
      f["key"] = e.key();
      raise("ConfigError", e, f);
    } catch (const StreamfoldError& e) {
      raise("StreamfoldError", e, py::dict());
    }
  });
}

}  // namespace sf::py_bind
