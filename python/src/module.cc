// fsml._fsml: the Python bindings of handles.h. The public API, with its
// documentation, is the pure-Python layer in python/fsml/, which wraps these
// classes; nothing here is meant to be called by users directly.
//
// Every call that reads a store, decodes or waits for the loader releases the
// GIL. Failed Statuses become exceptions of fsml.errors, chosen by the same
// error codes the HTTP API answers with.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/version.h"
#include "handles.h"

namespace py = pybind11;

namespace fsml::python {
namespace {

// A failed Status on its way to Python (translated below).
struct StatusException : std::exception {
  explicit StatusException(Status s) : status(std::move(s)) {}
  const char* what() const noexcept override { return status.message().c_str(); }
  Status status;
};
// Use of a closed workspace or of a loader it shut down: fsml.ClosedError.
struct ClosedException : std::exception {
  explicit ClosedException(std::string m) : message(std::move(m)) {}
  const char* what() const noexcept override { return message.c_str(); }
  std::string message;
};

// The HTTP API's code for a Status code (serve/http.cc answers with the same).
const char* ApiCode(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kNotFound:
      return "not_found";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kFailedPrecondition:
      return "failed_precondition";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kResourceExhausted:
      return "resource_exhausted";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kAborted:
      return "aborted";
    case Code::kCorruption:
      return "corruption";
    case Code::kIoError:
      return "io_error";
    case Code::kInternal:
      break;
  }
  return "internal";
}

void Check(const Status& s) {
  if (!s.ok()) throw StatusException(s);
}
template <typename T>
T Unwrap(Result<T> r) {
  if (!r) throw StatusException(std::move(r).error());
  return std::move(*r);
}

// Runs `f` with the GIL released (it must not touch Python objects).
template <typename F>
auto WithoutGil(F&& f) {
  py::gil_scoped_release unlocked;
  return f();
}

void CheckOpen(const WorkspaceHandle& h) {
  if (h.closed()) throw ClosedException(h.ClosedError().message());
}

py::object ErrorClass(const char* name) { return py::module_::import("fsml.errors").attr(name); }

// Item content: bytes for images, str for text.
py::object Content(const DatasetView& d, std::string&& bytes) {
  if (d.project().type == TaskType::kTextClassification) return py::str(bytes);
  return py::bytes(bytes);
}

// A dataset view bound to Python: every call checks that the workspace is open.
struct PyDataset {
  DatasetView view;
  const DatasetView& Open() const {
    CheckOpen(*view.handle());
    return view;
  }
};

py::tuple Meta(const PyDataset& d, int64_t i) {
  const DatasetView& v = d.Open();
  if (i < 0 || static_cast<size_t>(i) >= v.size()) throw py::index_error("index out of range");
  ItemRecord r = v.Meta(static_cast<size_t>(i));
  return py::make_tuple(r.id, r.label, std::string(SplitName(r.split)));
}

// [(content, label, item id)] for rows [begin, end).
py::list Read(const PyDataset& d, size_t begin, size_t end, int threads) {
  const DatasetView& v = d.Open();
  end = std::min(end, v.size());
  begin = std::min(begin, end);
  std::vector<ItemRecord> items = Unwrap(WithoutGil([&] { return v.Read(begin, end, threads); }));
  py::list out(items.size());
  for (size_t i = 0; i < items.size(); ++i)
    out[i] = py::make_tuple(Content(v, std::move(items[i].content)), items[i].label, items[i].id);
  return out;
}

// ({"added": [(id, label, split)], "removed": [...], "relabeled": [(id, from, to)], "unchanged": n}).
py::dict Diff(const PyDataset& a, const PyDataset& b) {
  const DatasetView& va = a.Open();
  const DatasetView& vb = b.Open();
  ManifestDiff diff = WithoutGil([&] { return va.DiffTo(vb); });
  auto rows = [](const std::vector<ManifestRow>& rows, const std::vector<std::string>& labels) {
    py::list out;
    for (const auto& r : rows)
      out.append(py::make_tuple(ToHex(r.item), labels[r.label], std::string(SplitName(r.split))));
    return out;
  };
  py::list relabeled;
  for (const auto& r : diff.relabeled) relabeled.append(py::make_tuple(ToHex(r.item), r.from, r.to));
  py::dict out;
  out["added"] = rows(diff.added, vb.labels());
  out["removed"] = rows(diff.removed, va.labels());
  out["relabeled"] = relabeled;
  out["unchanged"] = diff.unchanged;
  return out;
}

// The metadata columns: (item ids, labels, splits), one entry per row.
py::tuple Columns(const PyDataset& d) {
  const DatasetView& v = d.Open();
  py::list ids(v.size()), labels(v.size()), splits(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    ItemRecord r = v.Meta(i);
    ids[i] = r.id;
    labels[i] = r.label;
    splits[i] = std::string(SplitName(r.split));
  }
  return py::make_tuple(ids, labels, splits);
}

LoaderOptions MakeOptions(const py::dict& o) {
  LoaderOptions opt;
  opt.batch_size = o["batch_size"].cast<size_t>();
  opt.shuffle = o["shuffle"].cast<bool>();
  opt.drop_last = o["drop_last"].cast<bool>();
  opt.seed = o["seed"].cast<uint64_t>();
  opt.threads = o["threads"].cast<int>();
  opt.prefetch = o["prefetch"].cast<size_t>();
  opt.cache = o["cache"].cast<bool>();
  opt.channels = o["channels"].cast<int>();
  opt.height = o["height"].cast<int>();
  opt.width = o["width"].cast<int>();
  opt.mean = o["mean"].cast<std::vector<float>>();
  opt.std = o["std"].cast<std::vector<float>>();
  opt.augment = Unwrap(ParseAugmentation(o["augment"].cast<std::string>()));
  return opt;
}

// A loader batch as numpy arrays over the batch's own buffers: the arrays
// share one capsule that owns the Batch, so nothing is copied and the buffers
// live as long as any array (or a torch tensor made with from_numpy) does.
py::tuple BatchArrays(Batch&& b) {
  auto owned = std::make_unique<Batch>(std::move(b));
  Batch* batch = owned.get();
  py::capsule owner(batch, [](void* p) { std::unique_ptr<Batch>(static_cast<Batch*>(p)); });
  owned.release();  // the capsule owns it now
  const auto n = static_cast<py::ssize_t>(batch->size);
  py::array_t<float> images({n, static_cast<py::ssize_t>(batch->channels), static_cast<py::ssize_t>(batch->height),
                             static_cast<py::ssize_t>(batch->width)},
                            batch->pixels.data(), owner);
  py::array_t<int64_t> labels({n}, batch->labels.data(), owner);
  py::array_t<uint32_t> rows({n}, batch->rows.data(), owner);
  return py::make_tuple(images, labels, rows);
}

py::object NextBatch(BatchStream& s, uint64_t generation) {
  Result<std::optional<Batch>> batch = WithoutGil([&] { return s.Next(generation); });
  if (!batch) {
    if (s.shut_down()) throw ClosedException(batch.error().message());
    throw StatusException(batch.error());
  }
  if (!*batch) return py::none();
  return BatchArrays(std::move(**batch));
}

}  // namespace
}  // namespace fsml::python

PYBIND11_MODULE(_fsml, m) {
  using namespace fsml;
  using namespace fsml::python;
  m.doc() = "fsml's C++ core (private: use the fsml package)";
  m.attr("__version__") = kVersion;

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusException& e) {
      py::object cls = ErrorClass("_class_for_code")(ApiCode(e.status.code()));
      PyErr_SetObject(cls.ptr(), py::str(e.status.message()).ptr());
    } catch (const ClosedException& e) {
      PyErr_SetObject(ErrorClass("ClosedError").ptr(), py::str(e.message).ptr());
    }
  });

  py::class_<WorkspaceHandle, std::shared_ptr<WorkspaceHandle>>(m, "Workspace")
      .def_property_readonly("root", [](const WorkspaceHandle& h) { return h.root().string(); })
      .def_property_readonly("closed", &WorkspaceHandle::closed)
      .def("close", &WorkspaceHandle::Close, py::call_guard<py::gil_scoped_release>())
      .def("dataset",
           [](const std::shared_ptr<WorkspaceHandle>& h, const std::string& ref) {
             CheckOpen(*h);
             return PyDataset{Unwrap(WithoutGil([&] { return DatasetView::Open(h, ref); }))};
           })
      .def("projects_json",
           [](const WorkspaceHandle& h) {
             CheckOpen(h);
             return WithoutGil([&] {
               std::shared_ptr<Workspace> ws = h.Get();
               if (!ws) Check(h.ClosedError());
               nlohmann::json out = nlohmann::json::array();
               for (const Project& p : Unwrap(ListProjects(ws->meta()))) {
                 ProjectStats stats = Unwrap(GetProjectStats(ws->meta(), p));
                 out.push_back(ProjectToJson(p, &stats));
               }
               return out.dump();
             });
           })
      .def("versions_json", [](const WorkspaceHandle& h, const std::string& project) {
        CheckOpen(h);
        return WithoutGil([&] {
          std::shared_ptr<Workspace> ws = h.Get();
          if (!ws) Check(h.ClosedError());
          Project p = Unwrap(GetProject(ws->meta(), project));
          nlohmann::json out = nlohmann::json::array();
          for (const DatasetVersion& v : Unwrap(ListVersions(ws->meta(), p))) out.push_back(VersionToJson(p, v));
          return out.dump();
        });
      });

  m.def(
      "open_workspace",
      [](std::optional<std::string> root) {
        return Unwrap(
            WithoutGil([&] { return WorkspaceHandle::Open(root ? std::optional<fs::path>(*root) : std::nullopt); }));
      },
      py::arg("root") = py::none());

  py::class_<PyDataset>(m, "Dataset")
      .def("__len__", [](const PyDataset& d) { return d.Open().size(); })
      .def_property_readonly("ref", [](const PyDataset& d) { return d.Open().ref(); })
      .def_property_readonly("project", [](const PyDataset& d) { return d.Open().project().name; })
      .def_property_readonly("version", [](const PyDataset& d) { return d.Open().version().number; })
      .def_property_readonly("task",
                             [](const PyDataset& d) { return std::string(TaskTypeName(d.Open().project().type)); })
      .def_property_readonly("split",
                             [](const PyDataset& d) -> std::optional<std::string> {
                               auto s = d.Open().split();
                               if (!s) return std::nullopt;
                               return std::string(SplitName(*s));
                             })
      .def_property_readonly("labels", [](const PyDataset& d) { return d.Open().labels(); })
      .def_property_readonly("info_json",
                             [](const PyDataset& d) {
                               const DatasetView& v = d.Open();
                               return VersionToJson(v.project(), v.version()).dump();
                             })
      .def("only_split",
           [](const PyDataset& d, const std::string& name) {
             const DatasetView& v = d.Open();
             return PyDataset{v.OnlySplit(Unwrap(ParseSplit(name)))};
           })
      .def("meta", &Meta)
      .def("read", &Read, py::arg("begin"), py::arg("end"), py::arg("threads") = 8)
      .def("diff_to", &Diff)
      .def("columns", &Columns)
      .def("channel_stats",
           [](const PyDataset& d, const py::dict& options) {
             const DatasetView& v = d.Open();
             LoaderOptions opt = MakeOptions(options);
             ChannelStats st = Unwrap(WithoutGil([&] { return v.Stats(std::move(opt)); }));
             return py::make_tuple(st.mean, st.std);
           })
      .def("make_stream", [](const PyDataset& d, const py::dict& options) {
        const DatasetView& v = d.Open();
        LoaderOptions opt = MakeOptions(options);
        return Unwrap(WithoutGil([&] { return v.MakeStream(opt); }));
      });

  py::class_<BatchStream, std::shared_ptr<BatchStream>>(m, "BatchStream")
      .def_property_readonly("size", &BatchStream::size)
      .def_property_readonly("num_batches", &BatchStream::num_batches)
      .def_property_readonly("labels", &BatchStream::labels)
      .def_property_readonly("shape",
                             [](const BatchStream& s) { return py::make_tuple(s.channels(), s.height(), s.width()); })
      .def_property_readonly("ref", &BatchStream::ref)
      .def_property_readonly("shut_down", &BatchStream::shut_down)
      .def("start_epoch",
           [](BatchStream& s, int epoch) {
             Result<uint64_t> generation = WithoutGil([&] { return s.StartEpoch(epoch); });
             if (!generation && s.shut_down()) throw ClosedException(generation.error().message());
             return Unwrap(std::move(generation));
           })
      .def("next", &NextBatch)
      .def("stop", &BatchStream::Stop, py::arg("generation") = py::none(), py::call_guard<py::gil_scoped_release>())
      .def("shutdown", &BatchStream::Shutdown, py::call_guard<py::gil_scoped_release>())
      .def("item_ids",
           [](const BatchStream& s, const py::array_t<uint32_t, py::array::c_style | py::array::forcecast>& rows) {
             py::list out(rows.size());
             auto r = rows.unchecked<1>();
             for (py::ssize_t i = 0; i < r.shape(0); ++i) {
               if (r(i) >= s.size()) throw py::index_error("loader row out of range");
               out[i] = s.ItemId(r(i));
             }
             return out;
           });
}
