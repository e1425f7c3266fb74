"""Host-side data movement shared by the simulations and the PYNQ driver."""
from .packing import pack, packed_bytes, unpack

__all__ = ["pack", "unpack", "packed_bytes"]
