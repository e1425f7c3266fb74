"""The transformation protocol shared with qonnx: apply(model) -> (model, modified)."""
from ..errors import ConfigError


class Transformation:
    """Base class; subclasses implement apply(model) -> (model, modified)."""

    name = None

    def apply(self, model):  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


def resolve(t):
    """A Transformation instance from an instance, a class or a registered name."""
    if isinstance(t, str):
        import difflib

        import streamfold.transformation as mod

        cls = getattr(mod, t, None)
        if not (isinstance(cls, type) and issubclass(cls, Transformation)):
            names = [n for n, _, _ in mod.list_passes()]
            close = difflib.get_close_matches(t, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see streamfold.transformation.list_passes()"
            raise ConfigError(f"there is no transformation named {t!r}", hint=hint, key=t)
        return cls()
    if isinstance(t, type):
        return t()
    if not hasattr(t, "apply"):
        raise ConfigError(f"{t!r} is not a transformation", hint="pass an object with apply(model)")
    return t
