"""Typed errors. Everything streamfold raises on bad input derives from
StreamfoldError and carries a ``hint`` saying what to do."""


class StreamfoldError(Exception):
    """Base of every streamfold error."""

    def __init__(self, message, hint="", **fields):
        super().__init__(message)
        self.message = message
        self.hint = hint
        for k, v in fields.items():
            setattr(self, k, v)

    def __str__(self):
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ModelError(StreamfoldError):
    """The model is wrong: corrupt file, missing initializer, bad attribute.
    ``where`` names the node, tensor or field."""

    def __init__(self, message, hint="", where="", **fields):
        super().__init__(message, hint, where=where, **fields)


class UnsupportedOpError(ModelError):
    """An op streamfold has no semantics for; names node, op_type, domain."""

    def __init__(self, message, hint="", node="", op_type="", domain="", **fields):
        super().__init__(message, hint, where=node, node=node, op_type=op_type, domain=domain, **fields)


class InputError(StreamfoldError, ValueError):
    """The caller's inputs do not fit the model (name, shape, dtype)."""


class ConfigError(StreamfoldError, ValueError):
    """A configuration key is wrong; ``key`` names it."""

    def __init__(self, message, hint="", key="", **fields):
        super().__init__(message, hint, key=key, **fields)


class StreamlineError(ModelError):
    """Nodes survived streamlining; ``violations`` lists each with its
    neighbours, the passes that refused it and why, and a hint."""


class VerificationError(StreamfoldError):
    """A transformation changed the model's function. Names the pass, the
    first differing tensor, the index and both values."""


__all__ = ["StreamfoldError", "ModelError", "UnsupportedOpError", "InputError", "ConfigError", "VerificationError",
           "StreamlineError"]
